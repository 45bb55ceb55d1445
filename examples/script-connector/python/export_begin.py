#!/usr/bin/env python3
"""Export begin: takes the system's lock file, so that two exports never interleave."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
lock = common.data_file(doc) + ".lock"
try:
    fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, doc["connector"].encode())
    os.close(fd)
except FileExistsError:
    common.fail("SystemBusy", "another export holds %s" % lock)
common.write_result({})
