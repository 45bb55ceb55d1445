#!/usr/bin/env python3
"""Schema script: returns the object types and their attributes."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

common.read_input()
common.write_result({"schema": common.SCHEMA})
