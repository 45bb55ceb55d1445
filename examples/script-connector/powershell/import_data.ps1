# Import data: one page of at most runStep.pageSize entries.
# customData is {"seq":S} between runs and {"seq":S,"upto":U,"offset":N}
# between the pages of one run (see ../python/import_data.py).
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$step = $doc.runStep
$size = [int]$step.pageSize
$system = Read-System $doc
$objects = $system.objects
$state = if ($step.customData) { $step.customData | ConvertFrom-Json -AsHashtable } else { @{ seq = 0 } }
$upto = if ($state.ContainsKey('upto')) { [int64]$state.upto } else { [int64]$system.seq }
$offset = if ($state.ContainsKey('offset')) { [int]$state.offset } else { 0 }

if ($step.type -eq 'full') {
    $items = @($objects.Keys | Sort-Object -CaseSensitive | ForEach-Object { @{ id = $_ } })
} else {
    # Each object changed in (seq, upto], once, in change order.
    $seen = @{}
    $items = @(foreach ($rec in $system.log) {
            if ([int64]$rec.seq -gt [int64]$state.seq -and [int64]$rec.seq -le $upto -and -not $seen.ContainsKey($rec.id)) {
                $seen[$rec.id] = $true
                $rec
            }
        })
}
$batch = @($items | Select-Object -Skip $offset -First $size)
$entries = @(foreach ($item in $batch) {
        if ($objects.ContainsKey($item.id)) {
            New-ImportEntry $item.id $objects[$item.id]
        } else {
            $type = if ($item.ContainsKey('objectType')) { $item.objectType } else { 'person' }
            @{ objectType = $type; anchor = $item.id; modificationType = 'Delete' }
        }
    })
$more = ($offset + $batch.Count) -lt $items.Count
$custom = if ($more) { @{ seq = $state.seq; upto = $upto; offset = $offset + $batch.Count } } else { @{ seq = $upto } }
Write-IdsyncResult @{ entries = $entries; moreToImport = $more; customData = ($custom | ConvertTo-Json -Compress) }
