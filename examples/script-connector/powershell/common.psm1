# Common module of the PowerShell example of the idsync script connector.
#
# idsync writes this file next to the scripts before they run and passes
# its path in the input document ("commonModule") and in
# $env:IDSYNC_COMMON_MODULE; each script starts with
#     Import-Module $env:IDSYNC_COMMON_MODULE
# Requires PowerShell 7 (pwsh). The connected "system" is the same JSON
# file as the Python example's (the DataFile parameter); see
# ../python/common.py for its layout and docs/script-connector.md for the
# contract.

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

function Read-IdsyncInput {
    # The input document from stdin, as nested hashtables.
    [Console]::In.ReadToEnd() | ConvertFrom-Json -AsHashtable -Depth 64
}

function Write-IdsyncResult([hashtable] $Result) {
    # One JSON object on stdout.
    [Console]::Out.WriteLine(($Result | ConvertTo-Json -Depth 64 -Compress))
}

function Stop-IdsyncWithError([string] $Name, [string] $Detail) {
    # An error result: the operation fails with this name and detail.
    Write-IdsyncResult @{ error = @{ name = $Name; detail = $Detail } }
    exit 0
}

function Write-IdsyncLog([string] $Message) {
    # Diagnostics go to stderr, which idsync logs.
    [Console]::Error.WriteLine($Message)
}

function Get-IdsyncSettingNearest([hashtable] $Doc, [string] $Name) {
    # Like Get-xADSyncPSConnectorSettingNearest: RunStep, then Partition, then Global.
    foreach ($scope in 'RunStep', 'Partition', 'Global') {
        $key = "${Name}_$scope"
        if ($Doc.configParameters.ContainsKey($key)) { return $Doc.configParameters[$key] }
    }
    $null
}

$script:Schema = @{
    objectTypes = @(
        @{ name = 'person'; anchorAttributes = @('id'); attributes = @(
                @{ name = 'id'; type = 'string'; direction = 'ImportOnly' }
                @{ name = 'uid'; type = 'string' }
                @{ name = 'displayName'; type = 'string' }
                @{ name = 'mail'; type = 'string'; multiValued = $true }
                @{ name = 'employeeNumber'; type = 'integer' }
                @{ name = 'enabled'; type = 'boolean' }
                @{ name = 'photo'; type = 'binary' }
                @{ name = 'manager'; type = 'reference' }
                @{ name = 'hired'; type = 'datetime' }
            )
        }
        @{ name = 'group'; anchorAttributes = @('id'); attributes = @(
                @{ name = 'id'; type = 'string'; direction = 'ImportOnly' }
                @{ name = 'cn'; type = 'string' }
                @{ name = 'member'; type = 'reference'; multiValued = $true }
            )
        }
    )
}

function Get-IdsyncSchema { $script:Schema }

function Test-MultiValued([string] $Name) { $Name -in 'mail', 'member' }

function Get-SystemPath([hashtable] $Doc) {
    $path = Get-IdsyncSettingNearest $Doc 'DataFile'
    if (-not $path) { Stop-IdsyncWithError 'ConfigurationError' 'parameter DataFile (scope Global) is not set' }
    # A relative path is relative to the configuration's directory.
    if (-not [System.IO.Path]::IsPathRooted($path) -and $Doc.configDir) { $path = Join-Path $Doc.configDir $path }
    $path
}

function Read-System([hashtable] $Doc) {
    # The system file, or an empty system.
    $path = Get-SystemPath $Doc
    if (-not (Test-Path -LiteralPath $path)) {
        return @{ seq = 0; objects = @{}; log = [System.Collections.ArrayList]::new(); passwords = @{} }
    }
    try {
        $sys = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json -AsHashtable -Depth 64
    } catch {
        Stop-IdsyncWithError 'SystemError' "$path is not valid JSON: $_"
    }
    if (-not $sys.ContainsKey('passwords')) { $sys.passwords = @{} }
    $sys.log = [System.Collections.ArrayList]@($sys.log)
    $sys
}

function Save-System([hashtable] $Doc, [hashtable] $System) {
    # Atomically: a temp file in the same directory, then a rename.
    $path = Get-SystemPath $Doc
    $dir = Split-Path -Parent ([System.IO.Path]::GetFullPath($path))
    $tmp = Join-Path $dir (".system-" + [guid]::NewGuid().ToString('N'))
    $System | ConvertTo-Json -Depth 64 | Set-Content -LiteralPath $tmp -Encoding utf8NoBOM
    Move-Item -LiteralPath $tmp -Destination $path -Force
}

function Add-SystemChange([hashtable] $System, [string] $Id, [string] $ObjectType) {
    # Record a change of object $Id in the change log.
    $System.seq = [int64]$System.seq + 1
    [void]$System.log.Add(@{ seq = $System.seq; id = $Id; objectType = $ObjectType })
}

function New-SystemId([hashtable] $System) {
    $n = if ($System.ContainsKey('nextId')) { [int64]$System.nextId } else { 1 }
    $System.nextId = $n + 1
    'u{0:D6}' -f $n
}

function New-ImportEntry([string] $Id, [hashtable] $Object) {
    # An import entry holding the whole object (a CSEntryChange "Replace").
    $attrs = @{} + $Object.attributes
    $attrs.id = $Id
    @{ objectType = $Object.objectType; anchor = $Id; dn = $Object.dn; modificationType = 'Replace'; attributes = $attrs }
}

function Get-PasswordHash([string] $Password) {
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($Password)
    -join ([System.Security.Cryptography.SHA256]::HashData($bytes) | ForEach-Object { $_.ToString('x2') })
}

Export-ModuleMember -Function *
