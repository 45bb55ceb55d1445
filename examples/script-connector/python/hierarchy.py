#!/usr/bin/env python3
"""Hierarchy script: the containers directly under hierarchyNode.dn,
derived from the DNs of the objects (uid=x,ou=people,dc=example)."""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common


def parent(dn):
    i = 0
    while i < len(dn):
        if dn[i] == "\\":
            i += 2
            continue
        if dn[i] == ",":
            return dn[i + 1:].strip()
        i += 1
    return ""


doc = common.read_input()
node = (doc.get("hierarchyNode") or {}).get("dn", "")
system = common.System(doc)
kids = {}
for obj in system.data["objects"].values():
    d = parent(obj["dn"])
    while d:
        p = parent(d)
        if p.lower() == node.lower():
            kids[d.lower()] = d
        d = p
common.write_result({"hierarchyNodes": [{"name": d.split(",")[0], "dn": d} for _, d in sorted(kids.items())]})
