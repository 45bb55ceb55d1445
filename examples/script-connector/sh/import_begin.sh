#!/bin/sh
# Import begin: checks the watermark of a delta import.
. "$IDSYNC_COMMON_MODULE"
if [ "$(field .runStep.type)" = delta ]; then
	jq -e '.runStep.customData | fromjson | .seq | numbers' "$INPUT" >/dev/null 2>&1 ||
		fail WatermarkExpired "customData is not a watermark of this system"
fi
echo '{}'
