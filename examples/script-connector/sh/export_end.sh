#!/bin/sh
# Export end: releases the lock file.
. "$IDSYNC_COMMON_MODULE"
rm -f "$DATA.lock"
echo '{}'
