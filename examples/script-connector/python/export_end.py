#!/usr/bin/env python3
"""Export end: releases the lock file."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
try:
    os.remove(common.data_file(doc) + ".lock")
except FileNotFoundError:
    pass
common.write_result({})
