# Partition script: the system has one partition.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$dn = Get-IdsyncSettingNearest $doc 'BaseDN'
Write-IdsyncResult @{ partitions = @(@{ name = 'default'; dn = "$dn" }) }
