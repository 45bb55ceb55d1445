# shellcheck shell=bash
# Samba 4.17 AD DC (Debian 12) for the ldap connector's Active Directory
# tests: realm EXAMPLE.TEST, base DC=example,DC=test, on 127.0.0.1 only
# (389 plain, 636 LDAPS; StartTLS too), no DNS, DirSync enabled.
# Sourced by .ci/run, or by hand: source .ci/peers/21-samba-ad.sh
# Idempotent: a running DC is reused; a stale one is stopped by its recorded
# PID. Data in /tmp/idsync-peers/samba.

idsync_samba() {
	local D=${IDSYNC_SAMBA_DIR:-/tmp/idsync-peers/samba}
	local ADMINPW='Passw0rd!Sync1' VERSION=2
	local URI=ldap://127.0.0.1:389
	if ! command -v samba >/dev/null || ! command -v samba-tool >/dev/null || ! command -v ldapsearch >/dev/null; then
		if declare -F apt_install >/dev/null; then
			apt_install samba samba-ad-dc winbind krb5-user ldb-tools ldap-utils
		else
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samba samba-ad-dc winbind krb5-user ldb-tools ldap-utils </dev/null >/dev/null || return 1
		fi
	fi
	export IDSYNC_TEST_AD_URL=$URI
	export IDSYNC_TEST_AD_LDAPS_URL=ldaps://127.0.0.1:636
	export IDSYNC_TEST_AD_CA_FILE=$D/tls/ca.pem
	export IDSYNC_TEST_AD_BIND_DN='CN=Administrator,CN=Users,DC=example,DC=test'
	export IDSYNC_TEST_AD_PASSWORD=$ADMINPW
	export IDSYNC_TEST_AD_BASE='DC=example,DC=test'
	if [ -f "$D/samba.pid" ] && kill -0 "$(cat "$D/samba.pid")" 2>/dev/null && [ "$(cat "$D/version" 2>/dev/null)" = "$VERSION" ] &&
		ldapsearch -x -H "$URI" -D "Administrator@example.test" -w "$ADMINPW" -s base -b "" dnsHostName >/dev/null 2>&1; then
		echo "samba already up pid=$(cat "$D/samba.pid")"
		return 0
	fi
	if [ -f "$D/samba.pid" ] && kill -0 "$(cat "$D/samba.pid")" 2>/dev/null; then
		local P; P=$(cat "$D/samba.pid"); kill "$P"; while kill -0 "$P" 2>/dev/null; do sleep 0.1; done
	fi
	local p
	for p in 389 636 88; do
		if ss -ltn "sport = :$p" | grep -q LISTEN; then echo "samba: port $p busy" >&2; return 1; fi
	done
	rm -rf "$D"; mkdir -p "$D"
	samba-tool domain provision --targetdir="$D" \
		--realm=EXAMPLE.TEST --domain=EXAMPLE --server-role=dc \
		--dns-backend=NONE --use-rfc2307 --host-name=dc1 --host-ip=127.0.0.1 \
		--adminpass="$ADMINPW" \
		--option="interfaces=127.0.0.1" --option="bind interfaces only=yes" >"$D/provision.log" 2>&1 || { cat "$D/provision.log" >&2; return 1; }
	# our own CA and a certificate with 127.0.0.1 as subjectAltName (Samba's
	# generated one names the host in the CN only, which Go refuses)
	mkdir -p "$D/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=idsync test AD CA" \
		-keyout "$D/tls/ca.key" -out "$D/tls/ca.pem" >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.example.test" -keyout "$D/tls/key.pem" -out "$D/tls/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1,DNS:dc1.example.test,DNS:localhost\n' >"$D/tls/san.ext"
	openssl x509 -req -in "$D/tls/server.csr" -CA "$D/tls/ca.pem" -CAkey "$D/tls/ca.key" -CAcreateserial -days 3650 \
		-extfile "$D/tls/san.ext" -out "$D/tls/cert.pem" >/dev/null 2>&1
	chmod 600 "$D/tls/key.pem"
	sed -i \
		-e '/^\tserver services = /d' -e '/^\tlog file = /d' \
		-e "s|^\[global\]|[global]\n\
\tserver services = ldap kdc\n\
\tldap server require strong auth = no\n\
\tdisable netbios = yes\n\
\tlog file = $D/log.%m\n\
\tlog level = 1\n\
\ttls enabled = yes\n\
\ttls keyfile = $D/tls/key.pem\n\
\ttls certfile = $D/tls/cert.pem\n\
\ttls cafile = $D/tls/ca.pem|" "$D/etc/smb.conf"
	samba-tool domain passwordsettings set -s "$D/etc/smb.conf" \
		--complexity=off --history-length=0 --min-pwd-age=0 --max-pwd-age=0 --min-pwd-length=1 >/dev/null || return 1
	samba -F --debug-stdout -M single -s "$D/etc/smb.conf" >"$D/samba.out" 2>&1 </dev/null &
	echo $! >"$D/samba.pid"
	local i
	for i in $(seq 600); do
		kill -0 "$(cat "$D/samba.pid")" 2>/dev/null || { cat "$D/samba.out" >&2; return 1; }
		ldapsearch -x -H "$URI" -D "Administrator@example.test" -w "$ADMINPW" -s base -b "" dnsHostName >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "$VERSION" >"$D/version"
	echo "samba up pid=$(cat "$D/samba.pid")"
}
idsync_samba || echo "warning: Samba AD did not start" >&2
