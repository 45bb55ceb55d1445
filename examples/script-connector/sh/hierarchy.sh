#!/bin/sh
# Hierarchy script: the containers directly under hierarchyNode.dn, derived
# from the DNs of the objects (uid=x,ou=people,dc=example).
. "$IDSYNC_COMMON_MODULE"
load | jq -c --arg node "$(field .hierarchyNode.dn)" '
	def parent: if test("^(\\\\.|[^,\\\\])*,") then sub("^(\\\\.|[^,\\\\])*,\\s*"; "") else "" end;
	[.objects[].dn | [recurse(parent; . != "")] | .[1:][]
	 | select((parent | ascii_downcase) == ($node | ascii_downcase))]
	| unique_by(ascii_downcase)
	| {hierarchyNodes: map({name: split(",")[0], dn: .})}'
