# Password script: set (with options) and change (old and new password).
# Policy: at least MinPasswordLength characters (PasswordPolicyViolation);
# no control characters (PasswordIllFormed); a change needs the right old
# password (a general error). Passwords are compared by SHA-256.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$pw = $doc.password
$system = Read-System $doc
$anchor = $pw.anchor
if (-not $system.objects.ContainsKey($anchor)) { Stop-IdsyncWithError 'PasswordExtensionError' "no object with id '$anchor'" }
$new = $pw.newPassword
if ($new -match '[\x00-\x1f]') { Stop-IdsyncWithError 'PasswordIllFormed' 'the password holds control characters' }
$min = Get-IdsyncSettingNearest $doc 'MinPasswordLength'
if (-not $min) { $min = 8 }
if ($new.Length -lt [int]$min) { Stop-IdsyncWithError 'PasswordPolicyViolation' 'the password is too short' }
if ($pw.operation -eq 'change') {
    if (-not $system.passwords.ContainsKey($anchor) -or $system.passwords[$anchor] -ne (Get-PasswordHash $pw.oldPassword)) {
        Stop-IdsyncWithError 'PasswordExtensionError' 'the old password is wrong'
    }
}
$system.passwords[$anchor] = Get-PasswordHash $new
if ($pw.operation -eq 'set' -and $pw.options.forceChangeAtLogOn) {
    if (-not $system.ContainsKey('mustChange')) { $system.mustChange = @{} }
    $system.mustChange[$anchor] = $true
}
Save-System $doc $system
Write-IdsyncResult @{}
