#!/bin/sh
# Export data: applies each entry to the system and answers each one
# (see ../python/export_data.py): adds get a new id, the anchor.
. "$IDSYNC_COMMON_MODULE"
OUT=$(mktemp "${TMPDIR:-/tmp}/out-XXXXXX")
load | jq -c --slurpfile in "$INPUT" '
	def multi($n): $n == "mail" or $n == "member";
	def apply($changes):
		reduce $changes[] as $ac (.;
			if $ac.modificationType == "Add" or $ac.modificationType == "Replace" then .[$ac.name] = [$ac.valueChanges[].value]
			elif $ac.modificationType == "Delete" then del(.[$ac.name])
			elif $ac.modificationType == "Update" then
				(reduce $ac.valueChanges[] as $vc ((.[$ac.name] // []) | if type == "array" then . else [.] end;
					if $vc.modificationType == "Add" then (if any(.[]; . == $vc.value) then . else . + [$vc.value] end)
					else map(select(. != $vc.value)) end)) as $vs
				| .[$ac.name] = $vs
			else . end)
		| with_entries(select((.value | type) != "array" or (.value | length) > 0)
			| if (.value | type) == "array" and (.value | length) == 1 and (multi(.key) | not) then .value = .value[0] else . end);
	def touch($id; $type): .sys.seq += 1 | .sys.log += [{seq: .sys.seq, id: $id, objectType: $type}];
	reduce $in[0].entries[] as $e ({sys: ., results: []};
		($e.anchor // "") as $a
		| if $e.modificationType == "Add" then
			[.sys.objects | to_entries[] | select((.value.dn | ascii_downcase) == ($e.dn | ascii_downcase)) | .key] as $dup
			| if ($dup | length) > 0 then
				.results += [{identifier: $e.identifier, errorName: "ObjectAlreadyExists", errorDetail: "an object with DN \($e.dn) exists (id \($dup[0]))"}]
			  else
				(.sys.nextId // 1) as $n | ("u" + ("00000" + ($n | tostring))[-6:]) as $id
				| .sys.nextId = $n + 1
				| .sys.objects[$id] = {objectType: $e.objectType, dn: $e.dn, attributes: ({} | apply($e.attributeChanges) | del(.id))}
				| touch($id; $e.objectType)
				| .results += [{identifier: $e.identifier, errorName: "success", anchor: $id}]
			  end
		  elif $e.modificationType == "Replace" then
			.sys.objects[$a] = {objectType: $e.objectType, dn: $e.dn, attributes: ({} | apply($e.attributeChanges) | del(.id))}
			| touch($a; $e.objectType)
			| .results += [{identifier: $e.identifier, errorName: "success", anchor: $a}]
		  elif $e.modificationType == "Update" then
			if .sys.objects[$a] == null then
				.results += [{identifier: $e.identifier, errorName: "NoSuchObject", errorDetail: "no object with id \($a)"}]
			else
				.sys.objects[$a].attributes |= apply([$e.attributeChanges[] | select(.name != "id")])
				| (if ($e.newDn // "") != "" then .sys.objects[$a].dn = $e.newDn else . end)
				| touch($a; .sys.objects[$a].objectType)
				| .results += [{identifier: $e.identifier, errorName: "success"} + (if ($e.newDn // "") != "" then {dn: $e.newDn} else {} end)]
			end
		  elif $e.modificationType == "Delete" then
			(if .sys.objects[$a] != null then del(.sys.objects[$a]) | del(.sys.passwords[$a]) | touch($a; $e.objectType) else . end)
			| .results += [{identifier: $e.identifier, errorName: "success"}]
		  else
			.results += [{identifier: $e.identifier, errorName: "UnknownModificationType", errorDetail: $e.modificationType}]
		  end)' >"$OUT"
jq '.sys' "$OUT" | save
jq -c '{results}' "$OUT"
rm -f "$OUT"
