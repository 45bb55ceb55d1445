#!/usr/bin/env python3
"""Partition script: the system has one partition."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
common.write_result({"partitions": [{"name": "default", "dn": common.nearest(doc, "BaseDN") or ""}]})
