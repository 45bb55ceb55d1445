#!/bin/sh
# Schema script: returns the object types and their attributes.
. "$IDSYNC_COMMON_MODULE"
printf '%s' "$SCHEMA" | jq -c '{schema: .}'
