#!/bin/sh
# Password script: set (with options) and change (old and new password).
# Policy: at least MinPasswordLength characters (PasswordPolicyViolation);
# no control characters (PasswordIllFormed); a change needs the right old
# password (a general error). Passwords are compared by SHA-256.
. "$IDSYNC_COMMON_MODULE"
anchor=$(field .password.anchor)
load | jq -e --arg a "$anchor" '.objects[$a] != null' >/dev/null || fail PasswordExtensionError "no object with id $anchor"
jq -e '.password.newPassword | explode | any(. < 32) | not' "$INPUT" >/dev/null ||
	fail PasswordIllFormed "the password holds control characters"
min=$(param MinPasswordLength)
jq -e --argjson min "${min:-8}" '.password.newPassword | length >= $min' "$INPUT" >/dev/null ||
	fail PasswordPolicyViolation "the password is too short"
hash() { jq -j "$1" "$INPUT" | sha256sum | cut -d' ' -f1; }
if [ "$(field .password.operation)" = change ]; then
	old=$(hash .password.oldPassword)
	load | jq -e --arg a "$anchor" --arg h "$old" '.passwords[$a] == $h' >/dev/null ||
		fail PasswordExtensionError "the old password is wrong"
fi
new=$(hash .password.newPassword)
force=$(jq -r '.password.options.forceChangeAtLogOn // false' "$INPUT")
load | jq --arg a "$anchor" --arg h "$new" --argjson force "$force" \
	'.passwords[$a] = $h | if $force then .mustChange[$a] = true else . end' | save
echo '{}'
