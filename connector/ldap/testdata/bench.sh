#!/usr/bin/env bash
# Benchmark of the ldap connector against the real slapd of
# .ci/peers/20-openldap.sh, compared with the OpenLDAP command-line tools.
#   bash connector/ldap/testdata/bench.sh        (from the repository root)
# 1. seeds ou=bench100k with 100,000 inetOrgPerson entries (once; reused)
# 2. times a raw paged ldapsearch of them to /dev/null
# 3. times ldapadd of 10,000 entries into ou=benchadd (then deletes them)
# 4. runs the Go benchmarks: full import by the connector alone and
#    through the engine into the SQLite store, and export of the same
#    10,000 adds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
# shellcheck source=/dev/null
source .ci/peers/20-openldap.sh >/dev/null
U=$IDSYNC_TEST_LDAP_URL; B=(-D "$IDSYNC_TEST_LDAP_BIND_DN" -w "$IDSYNC_TEST_LDAP_PASSWORD")
BASE=$IDSYNC_TEST_LDAP_BASE
OU=ou=bench100k,$BASE
W=${TMPDIR:-/tmp}/idsync-ldap-bench; mkdir -p "$W"
n=$(ldapsearch -x -LLL -H "$U" "${B[@]}" -b "$OU" -s one -E pr=1000/noprompt '(objectClass=inetOrgPerson)' 1.1 2>/dev/null | grep -c '^dn:' || true)
if [ "$n" != 100000 ]; then
	echo "seeding $OU with 100,000 entries (found $n)"
	ldapdelete -x -H "$U" "${B[@]}" -r "$OU" >/dev/null 2>&1 || true
	{
		printf 'dn: %s\nobjectClass: organizationalUnit\nou: bench100k\n\n' "$OU"
		awk -v ou="$OU" 'BEGIN{for(i=1;i<=100000;i++){printf "dn: uid=b%06d,%s\nobjectClass: inetOrgPerson\nuid: b%06d\ncn: Bench User %06d\nsn: User%06d\ngivenName: Bench\ndisplayName: Bench User %06d\nmail: b%06d@example.com\ntelephoneNumber: +1 555 %06d\nemployeeNumber: %d\ndepartmentNumber: D%03d\ntitle: Engineer\ndescription: benchmark entry %d\n\n",i,ou,i,i,i,i,i,i,i,i%1000,i}}'
	} >"$W/seed.ldif"
	time ldapadd -x -H "$U" "${B[@]}" -f "$W/seed.ldif" >/dev/null
fi
echo "== raw paged ldapsearch of 100,000 entries to /dev/null (3 runs)"
for i in 1 2 3; do
	/usr/bin/time -f "ldapsearch: %e s" ldapsearch -x -LLL -H "$U" "${B[@]}" -b "$OU" -E pr=1000/noprompt '(objectClass=inetOrgPerson)' '*' entryUUID structuralObjectClass >/dev/null
done
echo "== ldapadd of 10,000 entries (3 runs)"
ADD=ou=benchadd,$BASE
awk -v ou="$ADD" 'BEGIN{for(i=1;i<=10000;i++){printf "dn: uid=a%05d,%s\nobjectClass: inetOrgPerson\nuid: a%05d\ncn: Add User %05d\nsn: User%05d\ngivenName: Add\ndisplayName: Add User %05d\nmail: a%05d@example.com\ntelephoneNumber: +1 555 %05d\nemployeeNumber: %d\ndepartmentNumber: D%03d\ntitle: Engineer\ndescription: export benchmark entry %d\n\n",i,ou,i,i,i,i,i,i,i,i%1000,i}}' >"$W/add.ldif"
for i in 1 2 3; do
	ldapdelete -x -H "$U" "${B[@]}" -r "$ADD" >/dev/null 2>&1 || true
	printf 'dn: %s\nobjectClass: organizationalUnit\nou: benchadd\n' "$ADD" | ldapadd -x -H "$U" "${B[@]}" >/dev/null
	/usr/bin/time -f "ldapadd: %e s" ldapadd -x -H "$U" "${B[@]}" -f "$W/add.ldif" >/dev/null
done
ldapdelete -x -H "$U" "${B[@]}" -r "$ADD" >/dev/null 2>&1 || true
echo "== Go benchmarks"
IDSYNC_BENCH_LDAP_OU=$OU go test -run '^$' -bench 'BenchmarkLDAP' -benchtime 3x -count 1 ./connector/ldap/
