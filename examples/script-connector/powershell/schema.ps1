# Schema script: returns the object types and their attributes.
Import-Module $env:IDSYNC_COMMON_MODULE
$null = Read-IdsyncInput
Write-IdsyncResult @{ schema = (Get-IdsyncSchema) }
