#!/usr/bin/env bash
# Benchmark of the ldap connector against the real slapd of
# .ci/peers/20-openldap.sh, compared with the OpenLDAP command-line tools.
#   bash connector/ldap/testdata/bench.sh [ROUNDS]   (from the repository root)
# Seeds ou=bench100k with 100,000 inetOrgPerson entries (once; reused),
# then, ROUNDS times (default 3), interleaved so that both sides see the
# same machine load:
#   - a raw paged ldapsearch of the 100,000 entries to /dev/null,
#   - the connector's full import of them (Go benchmark, connector alone),
#   - the same full import through the engine into a fresh SQLite store,
#   - ldapadd of 10,000 entries into ou=benchadd (then deleted),
#   - the connector's export of the same 10,000 entries as adds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROUNDS=${1:-3}
# shellcheck source=/dev/null
source .ci/peers/20-openldap.sh >/dev/null
U=$IDSYNC_TEST_LDAP_URL; B=(-D "$IDSYNC_TEST_LDAP_BIND_DN" -w "$IDSYNC_TEST_LDAP_PASSWORD")
BASE=$IDSYNC_TEST_LDAP_BASE
OU=ou=bench100k,$BASE
ADD=ou=benchadd,$BASE
W=${TMPDIR:-/tmp}/idsync-ldap-bench; mkdir -p "$W"
n=$(ldapsearch -x -LLL -H "$U" "${B[@]}" -b "$OU" -s one -E pr=1000/noprompt '(objectClass=inetOrgPerson)' 1.1 2>/dev/null | grep -c '^dn:' || true)
if [ "$n" != 100000 ]; then
	echo "seeding $OU with 100,000 entries (found $n)"
	ldapdelete -x -H "$U" "${B[@]}" -r "$OU" >/dev/null 2>&1 || true
	{
		printf 'dn: %s\nobjectClass: organizationalUnit\nou: bench100k\n\n' "$OU"
		awk -v ou="$OU" 'BEGIN{for(i=1;i<=100000;i++){printf "dn: uid=b%06d,%s\nobjectClass: inetOrgPerson\nuid: b%06d\ncn: Bench User %06d\nsn: User%06d\ngivenName: Bench\ndisplayName: Bench User %06d\nmail: b%06d@example.com\ntelephoneNumber: +1 555 %06d\nemployeeNumber: %d\ndepartmentNumber: D%03d\ntitle: Engineer\ndescription: benchmark entry %d\n\n",i,ou,i,i,i,i,i,i,i,i%1000,i}}'
	} >"$W/seed.ldif"
	ldapadd -x -H "$U" "${B[@]}" -f "$W/seed.ldif" >/dev/null
fi
awk -v ou="$ADD" 'BEGIN{for(i=1;i<=10000;i++){printf "dn: uid=a%05d,%s\nobjectClass: inetOrgPerson\nuid: a%05d\ncn: Add User %05d\nsn: User%05d\ngivenName: Add\ndisplayName: Add User %05d\nmail: a%05d@example.com\ntelephoneNumber: +1 555 %05d\nemployeeNumber: %d\ndepartmentNumber: D%03d\ntitle: Engineer\ndescription: export benchmark entry %d\n\n",i,ou,i,i,i,i,i,i,i,i%1000,i}}' >"$W/add.ldif"
go test -c -o "$W/ldap.test" ./connector/ldap/
export IDSYNC_BENCH_LDAP_OU=$OU
bench() { "$W/ldap.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime 1x | awk '/^Benchmark/{printf "%s: %.2f s\n", $1, $3/1e9}'; }
for r in $(seq "$ROUNDS"); do
	echo "== round $r (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	/usr/bin/time -f "ldapsearch paged 100k > /dev/null: %e s" \
		ldapsearch -x -LLL -H "$U" "${B[@]}" -b "$OU" -E pr=1000/noprompt '(objectClass=inetOrgPerson)' '*' entryUUID structuralObjectClass >/dev/null
	bench BenchmarkLDAPFullImport100k
	bench BenchmarkLDAPFullImportEngine100k
	ldapdelete -x -H "$U" "${B[@]}" -r "$ADD" >/dev/null 2>&1 || true
	printf 'dn: %s\nobjectClass: organizationalUnit\nou: benchadd\n' "$ADD" | ldapadd -x -H "$U" "${B[@]}" >/dev/null
	/usr/bin/time -f "ldapadd 10k: %e s" ldapadd -x -H "$U" "${B[@]}" -f "$W/add.ldif" >/dev/null
	ldapdelete -x -H "$U" "${B[@]}" -r "$ADD" >/dev/null 2>&1 || true
	bench BenchmarkLDAPExport10kAdds
done
