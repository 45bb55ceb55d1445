#!/usr/bin/env bash
# SCIM 2.0 test peer: SCIMMY (npm scimmy + scimmy-routers, MIT) behind the
# glue file connector/scim/testdata/scimmy/server.mjs, on 127.0.0.1.
# Sourced by .ci/run; usable by hand: source .ci/peers/30-scimmy.sh
# Exports IDSYNC_TEST_SCIM_URL and IDSYNC_TEST_SCIM_TOKEN.
# node_modules live outside the repository, in /tmp/idsync-peers/scimmy.
scimmy_start() {
	local repo dir port token
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	dir=/tmp/idsync-peers/scimmy
	port=${IDSYNC_SCIMMY_PORT:-8880}
	token=test-token
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		if declare -F apt_install >/dev/null; then apt_install nodejs npm; fi
	fi
	command -v node >/dev/null || { echo "warning: node not installed; SCIM peer not started" >&2; return 0; }
	mkdir -p "$dir"
	# Install the locked versions when the lock changed (or nothing is installed).
	local td="$repo/connector/scim/testdata/scimmy"
	if ! cmp -s "$td/package-lock.json" "$dir/package-lock.json" || [ ! -d "$dir/node_modules/scimmy-routers" ]; then
		cp "$td/package.json" "$td/package-lock.json" "$dir/"
		(cd "$dir" && npm ci --no-audit --no-fund --prefix "$dir" >"$dir/npm.log" 2>&1) || { echo "warning: npm ci of SCIMMY failed (see $dir/npm.log)" >&2; return 0; }
	fi
	local restart=
	cmp -s "$repo/connector/scim/testdata/scimmy/server.mjs" "$dir/server.mjs" || restart=1
	cp "$repo/connector/scim/testdata/scimmy/server.mjs" "$dir/server.mjs"
	local url="http://127.0.0.1:$port/scim/v2"
	if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		if [ -z "$restart" ] && curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$url/ServiceProviderConfig"; then
			export IDSYNC_TEST_SCIM_URL=$url IDSYNC_TEST_SCIM_TOKEN=$token
			return 0
		fi
		local p; p=$(cat "$dir/pid"); kill "$p" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	fi
	# exec: the recorded PID is node's own.
	(cd "$dir" && exec env PORT="$port" SCIM_TOKEN="$token" node server.mjs >"$dir/server.log" 2>&1 </dev/null) &
	echo $! >"$dir/pid"
	disown $! 2>/dev/null || true
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$url/ServiceProviderConfig" 2>/dev/null && break
		sleep 0.05
	done
	if curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$url/ServiceProviderConfig" 2>/dev/null; then
		export IDSYNC_TEST_SCIM_URL=$url IDSYNC_TEST_SCIM_TOKEN=$token
	else
		echo "warning: SCIMMY is not answering on $url (see $dir/server.log)" >&2
	fi
}
scimmy_start
