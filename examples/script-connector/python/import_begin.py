#!/usr/bin/env python3
"""Import begin: checks the watermark of a delta import."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
step = doc["runStep"]
if step["type"] == "delta":
    try:
        since = json.loads(step["customData"])["seq"]
    except (ValueError, KeyError, TypeError):
        common.fail("WatermarkExpired", "customData %r is not a watermark of this system" % step["customData"][:40])
    system = common.System(doc)
    log = system.data["log"]
    if log and since < log[0]["seq"] - 1:
        common.fail("WatermarkExpired", "the change log no longer goes back to %d" % since)
common.write_result({})
