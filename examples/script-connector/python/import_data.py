#!/usr/bin/env python3
"""Import data: one page of at most runStep.pageSize entries.

customData is the watermark {"seq": S} (the change number the system had
reached) between runs, and the page cursor {"seq": S, "upto": U,
"offset": N} between the pages of one run: U is the change number when
the run's first page was read, N how many objects or changes the earlier
pages returned. The last page hands back {"seq": U}: the next delta
import returns what changed after U.
"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
step = doc["runStep"]
size = step["pageSize"]
system = common.System(doc)
objects = system.data["objects"]
state = json.loads(step["customData"]) if step["customData"] else {"seq": 0}
upto = state.get("upto", system.data["seq"])
offset = state.get("offset", 0)

if step["type"] == "full":
    ids = sorted(objects)
else:
    # Each object changed in (seq, upto], once, in change order.
    ids, seen = [], set()
    for rec in system.data["log"]:
        if state["seq"] < rec["seq"] <= upto and rec["id"] not in seen:
            seen.add(rec["id"])
            ids.append(rec)
batch = ids[offset:offset + size]
entries = []
for item in batch:
    if step["type"] == "full":
        entries.append(system.entry(item, objects[item]))
    elif item["id"] in objects:
        entries.append(system.entry(item["id"], objects[item["id"]]))
    else:
        entries.append({"objectType": item.get("objectType", "person"), "anchor": item["id"], "modificationType": "Delete"})

more = offset + len(batch) < len(ids)
if more:
    custom = {"seq": state["seq"], "upto": upto, "offset": offset + len(batch)}
else:
    custom = {"seq": upto}
common.write_result({"entries": entries, "moreToImport": more, "customData": json.dumps(custom)})
