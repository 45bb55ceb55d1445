# Export begin: takes the system's lock file, so that two exports never interleave.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$lock = (Get-SystemPath $doc) + '.lock'
try {
    $fs = [System.IO.File]::Open($lock, [System.IO.FileMode]::CreateNew, [System.IO.FileAccess]::Write)
    $fs.Dispose()
} catch [System.IO.IOException] {
    Stop-IdsyncWithError 'SystemBusy' "another export holds $lock"
}
Write-IdsyncResult @{}
