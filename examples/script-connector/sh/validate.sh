#!/bin/sh
# Validation script: checks that the configuration works.
. "$IDSYNC_COMMON_MODULE"
[ -d "$(dirname "$DATA")" ] || fail ConfigurationError "the directory of $DATA does not exist"
load | jq empty 2>/dev/null || fail SystemError "$DATA is not valid JSON"
echo '{}'
