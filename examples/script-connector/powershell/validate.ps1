# Validation script: checks that the configuration works.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$path = Get-SystemPath $doc
$dir = Split-Path -Parent ([System.IO.Path]::GetFullPath($path))
if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
    Stop-IdsyncWithError 'ConfigurationError' "the directory of $path does not exist"
}
$null = Read-System $doc   # fails when the file is not valid JSON
Write-IdsyncResult @{}
