# Export data: applies each entry to the system and answers each one.
# Adds get a new id (the anchor) from the system; updates apply the
# attribute changes (Add/Replace set values, Delete removes the attribute,
# Update adds and deletes values); newDn renames; Delete removes.
Import-Module $env:IDSYNC_COMMON_MODULE
$doc = Read-IdsyncInput
$system = Read-System $doc
$objects = $system.objects

function Set-Attributes([hashtable] $Attrs, $Changes) {
    foreach ($ac in $Changes) {
        $name = $ac.name
        switch ($ac.modificationType) {
            { $_ -in 'Add', 'Replace' } { $Attrs[$name] = @($ac.valueChanges | ForEach-Object { $_.value }) }
            'Delete' { $Attrs.Remove($name) }
            'Update' {
                $cur = [System.Collections.ArrayList]@($Attrs[$name] | Where-Object { $null -ne $_ })
                foreach ($vc in $ac.valueChanges) {
                    if ($vc.modificationType -eq 'Add' -and $cur -notcontains $vc.value) { [void]$cur.Add($vc.value) }
                    elseif ($vc.modificationType -eq 'Delete') { $cur.Remove($vc.value) }
                }
                $Attrs[$name] = @($cur)
            }
        }
    }
    # Single values are stored as scalars, like the import returns them.
    foreach ($name in @($Attrs.Keys)) {
        $v = @($Attrs[$name])
        if ($v.Count -eq 0) { $Attrs.Remove($name) }
        elseif ($v.Count -eq 1 -and -not (Test-MultiValued $name)) { $Attrs[$name] = $v[0] }
    }
}

$results = @(foreach ($e in $doc.entries) {
        $r = @{ identifier = $e.identifier; errorName = 'success' }
        $anchor = if ($e.ContainsKey('anchor')) { $e.anchor } else { '' }
        switch ($e.modificationType) {
            'Add' {
                $dup = @($objects.Keys | Where-Object { $objects[$_].dn -ieq $e.dn })
                if ($dup.Count -gt 0) {
                    $r.errorName = 'ObjectAlreadyExists'; $r.errorDetail = "an object with DN $($e.dn) exists (id $($dup[0]))"
                    break
                }
                $id = New-SystemId $system
                $attrs = @{}; Set-Attributes $attrs $e.attributeChanges; $attrs.Remove('id')
                $objects[$id] = @{ objectType = $e.objectType; dn = $e.dn; attributes = $attrs }
                Add-SystemChange $system $id $e.objectType
                $r.anchor = $id
            }
            'Replace' {
                $attrs = @{}; Set-Attributes $attrs $e.attributeChanges; $attrs.Remove('id')
                $objects[$anchor] = @{ objectType = $e.objectType; dn = $e.dn; attributes = $attrs }
                Add-SystemChange $system $anchor $e.objectType
                $r.anchor = $anchor
            }
            'Update' {
                if (-not $objects.ContainsKey($anchor)) {
                    $r.errorName = 'NoSuchObject'; $r.errorDetail = "no object with id '$anchor'"
                    break
                }
                $obj = $objects[$anchor]
                Set-Attributes $obj.attributes @($e.attributeChanges | Where-Object { $_.name -ne 'id' })
                if ($e.ContainsKey('newDn') -and $e.newDn) { $obj.dn = $e.newDn; $r.dn = $e.newDn }
                Add-SystemChange $system $anchor $obj.objectType
            }
            'Delete' {
                if ($objects.ContainsKey($anchor)) {
                    $objects.Remove($anchor); $system.passwords.Remove($anchor)
                    Add-SystemChange $system $anchor $e.objectType
                }
            }
            default { $r.errorName = 'UnknownModificationType'; $r.errorDetail = $e.modificationType }
        }
        $r
    })
Save-System $doc $system
Write-IdsyncResult @{ results = $results }
