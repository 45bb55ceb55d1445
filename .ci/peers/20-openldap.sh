# shellcheck shell=bash
# OpenLDAP slapd (Debian 12: 2.5) for the ldap connector's integration tests:
# mdb dc=example,dc=com + syncprov (sessionlog) + accesslog (cn=accesslog),
# on ldap://127.0.0.1:3890, ldaps://127.0.0.1:6360 (self-signed CA in
# $IDSYNC_TEST_LDAP_CA_FILE) and an ldapi:// socket. Sourced by .ci/run, or by hand:
#   source .ci/peers/20-openldap.sh
# Idempotent: a running instance of the same version is reused; a stale one
# is stopped by its recorded PID. Data in /tmp/idsync-peers/openldap.

idsync_openldap() {
	local D=${IDSYNC_OPENLDAP_DIR:-/tmp/idsync-peers/openldap}
	local PORT=3890 TLSPORT=6360 PW=secret VERSION=4
	local URI=ldap://127.0.0.1:$PORT
	local BASE=dc=example,dc=com ADMIN=cn=admin,dc=example,dc=com
	if ! command -v slapd >/dev/null || ! command -v ldapsearch >/dev/null; then
		if declare -F apt_install >/dev/null; then
			apt_install slapd ldap-utils
		else
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils </dev/null >/dev/null || return 1
		fi
	fi
	export IDSYNC_TEST_LDAP_URL=$URI
	export IDSYNC_TEST_LDAP_LDAPS_URL=ldaps://127.0.0.1:$TLSPORT
	export IDSYNC_TEST_LDAP_CA_FILE=$D/ca.pem
	# ldapi:// socket (SASL EXTERNAL binds with the process's uid/gid)
	IDSYNC_TEST_LDAP_LDAPI_URL=ldapi://$(printf %s "$D/ldapi" | sed 's,/,%2F,g')
	export IDSYNC_TEST_LDAP_LDAPI_URL
	export IDSYNC_TEST_LDAP_BIND_DN=$ADMIN
	export IDSYNC_TEST_LDAP_PASSWORD=$PW
	export IDSYNC_TEST_LDAP_BASE=$BASE
	# reuse a running instance of this version
	if [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null && [ "$(cat "$D/version" 2>/dev/null)" = "$VERSION" ] &&
		ldapsearch -x -H "$URI" -D "$ADMIN" -w "$PW" -s base -b "$BASE" dn >/dev/null 2>&1; then
		echo "slapd already up pid=$(cat "$D/pid")"
		return 0
	fi
	if [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then
		local P; P=$(cat "$D/pid"); kill "$P"; while kill -0 "$P" 2>/dev/null; do sleep 0.1; done
	fi
	if ss -ltn "sport = :$PORT" | grep -q LISTEN; then echo "slapd: port $PORT busy" >&2; return 1; fi
	rm -rf "$D"; mkdir -p "$D/data" "$D/accesslog" "$D/slapd.d"
	local HASH; HASH=$(slappasswd -s "$PW")
	# TLS: a CA and a server certificate for 127.0.0.1
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=idsync test CA" \
		-keyout "$D/ca.key" -out "$D/ca.pem" >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$D/server.key" -out "$D/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$D/san.ext"
	openssl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial -days 3650 \
		-extfile "$D/san.ext" -out "$D/server.pem" >/dev/null 2>&1
	# a test schema with one attribute per idsync type
	cat >"$D/idsync-test.schema" <<'EOF'
attributetype ( 1.3.6.1.4.1.99999.2.1 NAME 'idsyncInt' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.2.2 NAME 'idsyncInts' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )
attributetype ( 1.3.6.1.4.1.99999.2.3 NAME 'idsyncBool' EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.2.4 NAME 'idsyncTime' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.2.5 NAME 'idsyncTimes' EQUALITY generalizedTimeMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 )
attributetype ( 1.3.6.1.4.1.99999.2.6 NAME 'idsyncBin' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.2.7 NAME 'idsyncBins' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
attributetype ( 1.3.6.1.4.1.99999.2.8 NAME 'idsyncTag' EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.99999.3.1 NAME 'idsyncTestObject' SUP top STRUCTURAL MUST uid
  MAY ( cn $ displayName $ description $ mail $ seeAlso $ userPassword $ idsyncInt $ idsyncInts $ idsyncBool $
        idsyncTime $ idsyncTimes $ idsyncBin $ idsyncBins $ idsyncTag ) )
EOF
	cat >"$D/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
include $D/idsync-test.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
moduleload accesslog
pidfile  $D/slapd.pid
argsfile $D/slapd.args
loglevel none
TLSCACertificateFile $D/ca.pem
TLSCertificateFile $D/server.pem
TLSCertificateKeyFile $D/server.key
sizelimit size.soft=500 size.hard=unlimited size.pr=unlimited size.prtotal=unlimited

database config
rootdn "cn=admin,cn=config"
rootpw $HASH

database mdb
suffix "cn=accesslog"
rootdn "$ADMIN"
directory $D/accesslog
maxsize 4294967296
dbnosync
index default eq
index entryCSN,objectClass,reqEnd,reqResult,reqStart,reqDN eq
overlay syncprov
syncprov-nopresent TRUE
syncprov-reloadhint TRUE

database mdb
suffix "$BASE"
rootdn "$ADMIN"
rootpw $HASH
directory $D/data
maxsize 4294967296
dbnosync
index objectClass eq
index entryCSN,entryUUID eq
index uid,mail,cn,sn,givenName eq,sub
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
overlay syncprov
syncprov-checkpoint 100 10
syncprov-sessionlog 100000
overlay accesslog
logdb "cn=accesslog"
logops writes
logsuccess TRUE
logold (objectClass=*)
logoldattr entryUUID
logpurge 07+00:00 01+00:00
EOF
	slaptest -Q -u -f "$D/slapd.conf" || return 1
	slapd -d 0 -h "$URI/ ldaps://127.0.0.1:$TLSPORT/ $IDSYNC_TEST_LDAP_LDAPI_URL/" -f "$D/slapd.conf" -F "$D/slapd.d" >"$D/slapd.log" 2>&1 </dev/null &
	echo $! >"$D/pid"
	local i
	for i in $(seq 200); do
		kill -0 "$(cat "$D/pid")" 2>/dev/null || break
		ldapsearch -x -H "$URI" -s base -b "" namingContexts >/dev/null 2>&1 && break
		sleep 0.05
	done
	if ! kill -0 "$(cat "$D/pid")" 2>/dev/null; then cat "$D/slapd.log" >&2; return 1; fi
	ldapadd -x -H "$URI" -D "$ADMIN" -w "$PW" >/dev/null <<EOF || return 1
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups
EOF
	echo "$VERSION" >"$D/version"
	echo "slapd up pid=$(cat "$D/pid")"
}
idsync_openldap || echo "warning: OpenLDAP did not start" >&2
