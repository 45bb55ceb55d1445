#!/usr/bin/env python3
"""Password script: set (with options) and change (old and new password).

Policy: at least MinPasswordLength characters (PasswordPolicyViolation);
no control characters (PasswordIllFormed); a change needs the right old
password (a general error).
"""
import os, sys
sys.path.insert(0, os.path.dirname(os.environ["IDSYNC_COMMON_MODULE"]))
import common

doc = common.read_input()
pw = doc["password"]
system = common.System(doc)
anchor = pw["anchor"]
if anchor not in system.data["objects"]:
    common.fail("PasswordExtensionError", "no object with id %r" % anchor)
new = pw["newPassword"]
if any(ord(ch) < 32 for ch in new):
    common.fail("PasswordIllFormed", "the password holds control characters")
if len(new) < int(common.nearest(doc, "MinPasswordLength") or 8):
    common.fail("PasswordPolicyViolation", "the password is too short")
stored = system.data["passwords"]
if pw["operation"] == "change":
    if stored.get(anchor) != common.System.hash(pw["oldPassword"]):
        common.fail("PasswordExtensionError", "the old password is wrong")
stored[anchor] = common.System.hash(new)
if pw["operation"] == "set" and pw["options"].get("forceChangeAtLogOn"):
    system.data.setdefault("mustChange", {})[anchor] = True
system.save()
common.write_result({})
