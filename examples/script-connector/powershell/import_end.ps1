# Import end: hands back the watermark (the change number only).
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$step = $doc.runStep
if ($step.reason -ne 'success') {
    Write-IdsyncLog "import ended: $($step.reason)"
    Write-IdsyncResult @{}
    exit 0
}
$seq = if ($step.customData) { ($step.customData | ConvertFrom-Json -AsHashtable).seq } else { 0 }
Write-IdsyncResult @{ customData = (@{ seq = $seq } | ConvertTo-Json -Compress) }
