# Export end: releases the lock file.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
Remove-Item -LiteralPath ((Get-SystemPath $doc) + '.lock') -ErrorAction SilentlyContinue
Write-IdsyncResult @{}
