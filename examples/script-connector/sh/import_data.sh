#!/bin/sh
# Import data: one page of at most runStep.pageSize entries. customData is
# {"seq":S} between runs and {"seq":S,"upto":U,"offset":N} between pages
# (see ../python/import_data.py).
. "$IDSYNC_COMMON_MODULE"
load | jq -c --slurpfile in "$INPUT" '
	def entry($sys; $id): {objectType: $sys.objects[$id].objectType, anchor: $id, dn: $sys.objects[$id].dn,
		modificationType: "Replace", attributes: ($sys.objects[$id].attributes + {id: $id})};
	$in[0].runStep as $step
	| (if $step.customData == "" then {seq: 0} else ($step.customData | fromjson) end) as $st
	| . as $sys
	| ($st.upto // $sys.seq) as $upto
	| ($st.offset // 0) as $off
	| (if $step.type == "full" then [$sys.objects | keys[] | {id: .}]
	   else [$sys.log[] | select(.seq > $st.seq and .seq <= $upto)] | unique_by(.id) end) as $items
	| $items[$off:$off + $step.pageSize] as $batch
	| ($off + ($batch | length) < ($items | length)) as $more
	| {entries: [$batch[] | if $sys.objects[.id] then entry($sys; .id)
	             else {objectType: (.objectType // "person"), anchor: .id, modificationType: "Delete"} end],
	   moreToImport: $more,
	   customData: (if $more then {seq: $st.seq, upto: $upto, offset: ($off + ($batch | length))}
	                else {seq: $upto} end | tojson)}'
