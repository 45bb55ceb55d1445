#!/usr/bin/env python3
"""Import end: hands back the watermark (the change number only)."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
step = doc["runStep"]
if step["reason"] != "success":
    common.log("import ended: %s" % step["reason"])
    common.write_result({})
    sys.exit(0)
state = json.loads(step["customData"]) if step["customData"] else {"seq": 0}
common.write_result({"customData": json.dumps({"seq": state["seq"]})})
