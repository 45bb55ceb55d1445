# Hierarchy script: the containers directly under hierarchyNode.dn, derived
# from the DNs of the objects (uid=x,ou=people,dc=example).
Import-Module $env:IDSYNC_COMMON_MODULE

function Get-ParentDN([string] $DN) {
    for ($i = 0; $i -lt $DN.Length; $i++) {
        if ($DN[$i] -eq '\') { $i++; continue }
        if ($DN[$i] -eq ',') { return $DN.Substring($i + 1).Trim() }
    }
    ''
}

$doc = Read-IdsyncInput
$node = "$($doc.hierarchyNode.dn)"
$system = Read-System $doc
$kids = [ordered]@{}
foreach ($obj in $system.objects.Values) {
    $d = Get-ParentDN $obj.dn
    while ($d) {
        $p = Get-ParentDN $d
        if ($p -ieq $node) { $kids[$d.ToLowerInvariant()] = $d }
        $d = $p
    }
}
$nodes = @($kids.Keys | Sort-Object | ForEach-Object { $d = $kids[$_]; @{ name = $d.Split(',')[0]; dn = $d } })
Write-IdsyncResult @{ hierarchyNodes = $nodes }
