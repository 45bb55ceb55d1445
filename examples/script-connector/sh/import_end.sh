#!/bin/sh
# Import end: hands back the watermark (the change number only).
. "$IDSYNC_COMMON_MODULE"
if [ "$(field .runStep.reason)" != success ]; then
	log "import ended: $(field .runStep.reason)"
	echo '{}'
	exit 0
fi
jq -c '{customData: ((if .runStep.customData == "" then {seq: 0} else (.runStep.customData | fromjson) end) | {seq} | tojson)}' "$INPUT"
