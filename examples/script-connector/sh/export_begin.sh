#!/bin/sh
# Export begin: takes the system's lock file, so that two exports never interleave.
. "$IDSYNC_COMMON_MODULE"
( set -C; printf '%s' "$(field .connector)" >"$DATA.lock" ) 2>/dev/null ||
	fail SystemBusy "another export holds $DATA.lock"
echo '{}'
