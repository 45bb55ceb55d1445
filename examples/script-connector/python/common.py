"""Common module of the Python example of the idsync script connector.

idsync writes this file next to the scripts before they run and passes its
path in the input document ("commonModule") and in $IDSYNC_COMMON_MODULE;
each script imports it the way a PowerShell script imports its common
module. See docs/script-connector.md for the JSON contract.

The connected "system" is a JSON file of our own (the DataFile parameter):

    {"seq": 7,                                   # last change number
     "objects": {"<id>": {"objectType": "person", "dn": "...", "attributes": {...}}},
     "log": [{"seq": 7, "id": "<id>", "objectType": "person"}],  # what changed when
     "passwords": {"<id>": "<sha256 hex>"}, "mustChange": {"<id>": true}}
"""
import hashlib
import json
import os
import sys
import tempfile


def read_input():
    """Read the input document from stdin."""
    return json.load(sys.stdin)


def write_result(doc):
    """Print the result document on stdout (one JSON object)."""
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


def fail(name, detail):
    """End the script with an error result (the operation fails)."""
    write_result({"error": {"name": name, "detail": detail}})
    sys.exit(0)


def log(msg):
    """Diagnostics go to stderr: idsync logs them (and shows them when the call fails)."""
    print(msg, file=sys.stderr)


def nearest(doc, name):
    """The value of a custom parameter, looked up RunStep, then Partition,
    then Global, like Get-xADSyncPSConnectorSettingNearest."""
    params = doc.get("configParameters") or {}
    for scope in ("RunStep", "Partition", "Global"):
        key = name + "_" + scope
        if key in params:
            return params[key]
    return None


def data_file(doc):
    """The DataFile parameter, relative to the configuration's directory."""
    path = nearest(doc, "DataFile")
    if not path:
        fail("ConfigurationError", "parameter DataFile (scope Global) is not set")
    return os.path.join(doc.get("configDir") or "", path)


SCHEMA = {
    "objectTypes": [
        {
            "name": "person",
            "anchorAttributes": ["id"],
            "attributes": [
                {"name": "id", "type": "string", "direction": "ImportOnly"},
                {"name": "uid", "type": "string"},
                {"name": "displayName", "type": "string"},
                {"name": "mail", "type": "string", "multiValued": True},
                {"name": "employeeNumber", "type": "integer"},
                {"name": "enabled", "type": "boolean"},
                {"name": "photo", "type": "binary"},
                {"name": "manager", "type": "reference"},
                {"name": "hired", "type": "datetime"},
            ],
        },
        {
            "name": "group",
            "anchorAttributes": ["id"],
            "attributes": [
                {"name": "id", "type": "string", "direction": "ImportOnly"},
                {"name": "cn", "type": "string"},
                {"name": "member", "type": "reference", "multiValued": True},
            ],
        },
    ]
}


class System:
    """The file-backed connected system."""

    def __init__(self, doc):
        path = data_file(doc)
        self.path = path
        try:
            with open(path, encoding="utf-8") as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {"seq": 0, "objects": {}, "log": [], "passwords": {}}
        except ValueError as e:
            fail("SystemError", "%s is not valid JSON: %s" % (path, e))
        self.data.setdefault("passwords", {})
        self.data.setdefault("log", [])

    def save(self):
        """Write the file atomically (temp file + rename)."""
        d = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".system-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def touch(self, oid, object_type):
        """Record a change of object oid in the change log."""
        self.data["seq"] += 1
        self.data["log"].append({"seq": self.data["seq"], "id": oid, "objectType": object_type})

    def new_id(self):
        n = self.data.get("nextId", 1)
        self.data["nextId"] = n + 1
        return "u%06d" % n

    def by_anchor(self, anchor):
        return self.data["objects"].get(anchor)

    def entry(self, oid, obj):
        """An import entry holding the whole object."""
        attrs = dict(obj["attributes"])
        attrs["id"] = oid
        return {"objectType": obj["objectType"], "anchor": oid, "dn": obj["dn"],
                "modificationType": "Replace", "attributes": attrs}

    @staticmethod
    def hash(pw):
        return hashlib.sha256(pw.encode("utf-8")).hexdigest()
