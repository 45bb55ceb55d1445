#!/bin/sh
# Partition script: the system has one partition.
. "$IDSYNC_COMMON_MODULE"
jq -cn --arg dn "$(param BaseDN)" '{partitions: [{name: "default", dn: $dn}]}'
