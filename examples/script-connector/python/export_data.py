#!/usr/bin/env python3
"""Export data: applies each entry to the system and answers each one.

Adds get a new id (the anchor) from the system; updates apply the
attribute changes (Add/Replace set values, Delete removes the attribute,
Update adds and deletes values); newDn renames; Delete removes.
"""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
system = common.System(doc)
objects = system.data["objects"]
results = []


def apply(attrs, changes):
    for ac in changes:
        name, kind = ac["name"], ac["modificationType"]
        values = [vc["value"] for vc in ac.get("valueChanges", [])]
        if kind in ("Add", "Replace"):
            attrs[name] = values
        elif kind == "Delete":
            attrs.pop(name, None)
        elif kind == "Update":
            cur = list(attrs.get(name, []))
            for vc in ac["valueChanges"]:
                if vc["modificationType"] == "Add" and vc["value"] not in cur:
                    cur.append(vc["value"])
                elif vc["modificationType"] == "Delete" and vc["value"] in cur:
                    cur.remove(vc["value"])
            if cur:
                attrs[name] = cur
            else:
                attrs.pop(name, None)
    # Single values are stored as scalars, like the import returns them.
    for name in list(attrs):
        if isinstance(attrs[name], list) and len(attrs[name]) == 1 and not multi(name):
            attrs[name] = attrs[name][0]


def multi(name):
    for t in common.SCHEMA["objectTypes"]:
        for a in t["attributes"]:
            if a["name"] == name:
                return a.get("multiValued", False)
    return False


for e in doc["entries"]:
    r = {"identifier": e["identifier"]}
    kind = e["modificationType"]
    try:
        if kind in ("Add", "Replace"):
            oid = e.get("anchor") if kind == "Replace" else None
            if kind == "Add":
                dup = [i for i, o in objects.items() if o["dn"].lower() == e["dn"].lower()]
                if dup:
                    raise LookupError("ObjectAlreadyExists", "an object with DN %s exists (id %s)" % (e["dn"], dup[0]))
                oid = system.new_id()
            attrs = {}
            apply(attrs, e["attributeChanges"])
            attrs.pop("id", None)
            objects[oid] = {"objectType": e["objectType"], "dn": e["dn"], "attributes": attrs}
            system.touch(oid, e["objectType"])
            r["anchor"] = oid
        elif kind == "Update":
            obj = objects.get(e.get("anchor", ""))
            if obj is None:
                raise LookupError("NoSuchObject", "no object with id %r" % e.get("anchor"))
            apply(obj["attributes"], [ac for ac in e["attributeChanges"] if ac["name"] != "id"])
            if e.get("newDn"):
                obj["dn"] = e["newDn"]
                r["dn"] = e["newDn"]
            system.touch(e["anchor"], obj["objectType"])
        elif kind == "Delete":
            if objects.pop(e.get("anchor", ""), None) is not None:
                system.data["passwords"].pop(e["anchor"], None)
                system.touch(e["anchor"], e["objectType"])
        r["errorName"] = "success"
    except LookupError as err:
        r["errorName"], r["errorDetail"] = err.args
    results.append(r)

system.save()
common.write_result({"results": results})
