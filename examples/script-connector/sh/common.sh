# Common module of the POSIX sh example of the idsync script connector.
#
# idsync writes this file next to the scripts before they run and passes
# its path in $IDSYNC_COMMON_MODULE (and in the input document's
# "commonModule"); each script starts with  . "$IDSYNC_COMMON_MODULE".
# JSON is handled with jq (1.6 or later). The connected "system" is the
# same JSON file as the Python example's (the DataFile parameter); see
# ../python/common.py for its layout and docs/script-connector.md for the
# contract.

set -eu

# The input document, saved once (the scripts read it several times).
INPUT=$(mktemp "${TMPDIR:-/tmp}/input-XXXXXX")
trap 'rm -f "$INPUT"' EXIT
cat >"$INPUT"

# field FILTER: one value of the input document ("" when null).
field() { jq -r "($1) // empty" "$INPUT"; }

# param NAME: a custom parameter, looked up RunStep, then Partition, then
# Global (Get-xADSyncPSConnectorSettingNearest).
param() {
	jq -r --arg n "$1" '.configParameters as $p
		| [$p[$n + "_RunStep"], $p[$n + "_Partition"], $p[$n + "_Global"]]
		| map(select(. != null)) | .[0] // empty' "$INPUT"
}

# fail NAME DETAIL: print an error result and stop (the operation fails).
fail() {
	jq -cn --arg n "$1" --arg d "$2" '{error: {name: $n, detail: $d}}'
	exit 0
}

# log MESSAGE: diagnostics go to stderr, which idsync logs.
log() { printf '%s\n' "$*" >&2; }

DATA=$(param DataFile)
[ -n "$DATA" ] || fail ConfigurationError "parameter DataFile (scope Global) is not set"
# A relative path is relative to the configuration's directory.
case $DATA in
/*) ;;
*) DATA=$(field .configDir)/$DATA ;;
esac

# load: print the system file (an empty system when it does not exist).
load() {
	if [ -f "$DATA" ]; then
		cat "$DATA"
	else
		printf '%s\n' '{"seq":0,"objects":{},"log":[],"passwords":{}}'
	fi
}

# save: replace the system file with stdin, atomically (temp file + rename).
save() {
	_tmp=$(mktemp "$(dirname "$DATA")/.system-XXXXXX")
	cat >"$_tmp"
	mv "$_tmp" "$DATA"
}

SCHEMA='{"objectTypes":[
 {"name":"person","anchorAttributes":["id"],"attributes":[
  {"name":"id","type":"string","direction":"ImportOnly"},
  {"name":"uid","type":"string"},
  {"name":"displayName","type":"string"},
  {"name":"mail","type":"string","multiValued":true},
  {"name":"employeeNumber","type":"integer"},
  {"name":"enabled","type":"boolean"},
  {"name":"photo","type":"binary"},
  {"name":"manager","type":"reference"},
  {"name":"hired","type":"datetime"}]},
 {"name":"group","anchorAttributes":["id"],"attributes":[
  {"name":"id","type":"string","direction":"ImportOnly"},
  {"name":"cn","type":"string"},
  {"name":"member","type":"reference","multiValued":true}]}]}'
