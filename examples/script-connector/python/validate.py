#!/usr/bin/env python3
"""Validation script: checks that the configuration works."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
path = common.data_file(doc)
if not path:
    common.fail("ConfigurationError", "parameter DataFile (scope Global) is not set")
if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
    common.fail("ConfigurationError", "the directory of %s does not exist" % path)
common.System(doc)  # fails when the file is not valid JSON
common.write_result({})
