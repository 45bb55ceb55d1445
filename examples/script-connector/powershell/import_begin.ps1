# Import begin: checks the watermark of a delta import.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$step = $doc.runStep
if ($step.type -eq 'delta') {
    try {
        $since = [int64]($step.customData | ConvertFrom-Json -AsHashtable).seq
    } catch {
        Stop-IdsyncWithError 'WatermarkExpired' "customData is not a watermark of this system"
    }
    $system = Read-System $doc
    if ($system.log.Count -gt 0 -and $since -lt [int64]$system.log[0].seq - 1) {
        Stop-IdsyncWithError 'WatermarkExpired' "the change log no longer goes back to $since"
    }
}
Write-IdsyncResult @{}
