package ldap

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// TestSpec9_2_ExportTypeAttributeReplaceOpenLDAP runs the engine against
// the real slapd with two target connectors that differ only in their
// exportType: people flow from a source container to one with
// `exportType: AttributeReplace` and to one with the default
// AttributeUpdate. When a person's telephoneNumber values change in the
// source, the engine sends the new values to the AttributeReplace target
// as one replace and to the other as value-level adds and deletes, as
// slapd's accesslog records; an import of both targets confirms the exact
// values, and no export is left pending.
func TestSpec9_2_ExportTypeAttributeReplaceOpenLDAP(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	src, repl, upd := s.testOU(t, l, "xt-src"), s.testOU(t, l, "xt-replace"), s.testOU(t, l, "xt-update")
	p := person("xt1")
	p["telephoneNumber"] = []string{"111", "222"}
	add(t, l, "uid=xt1,"+src, p)

	cfg := s.config(repl)
	cfg.ExportType = "AttributeReplace"
	if got := cfg.Capabilities().ExportType; got != connector.ExportAttributeReplace {
		t.Fatalf("exportType AttributeReplace declares %s", got)
	}
	t.Setenv("IDSYNC_TEST_XT_PW", s.password)
	conn := func(name, ou, extra string) string {
		return fmt.Sprintf(`  - name: %s
    type: ldap
    settings:
      url: %s
      bindDN: %q
      password: {env: IDSYNC_TEST_XT_PW}
      server: openldap
      delta: none
      objectClasses: {person: inetOrgPerson}
      containers:
        - partition: %q
          include: [%q]
%s    profiles:
      full-import: [full-import]
      full-sync: [full-sync]
      export: [export]
`, name, s.url, s.bindDN, s.base, ou, extra)
	}
	out := func(name, ou string, precedence int) string {
		return fmt.Sprintf(`  - name: out-%s
    direction: outbound
    connector: %s
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: %d
    flows:
      - {target: dn, expression: '"uid=" & [uid] & ",%s"'}
      - {target: uid, source: uid}
      - {target: cn, source: cn}
      - {target: sn, source: sn}
      - {target: telephoneNumber, source: telephoneNumber}
`, name, name, precedence, ou)
	}
	yaml := `metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: uid, type: string}
        - {name: cn, type: string}
        - {name: sn, type: string}
        - {name: telephoneNumber, type: string, multiValued: true}
connectors:
` + conn("src", src, "") + conn("repl", repl, "      exportType: AttributeReplace\n") + conn("upd", upd, "") + `rules:
  - name: in
    direction: inbound
    connector: src
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    join: [[{source: uid, target: uid}]]
    flows:
      - {target: uid, source: uid}
      - {target: cn, source: cn}
      - {target: sn, source: sn}
      - {target: telephoneNumber, source: telephoneNumber}
` + out("repl", repl, 200) + out("upd", upd, 300)
	r := newEngineRig(t, yaml)
	step := func(conn, profile string) {
		t.Helper()
		if res := r.runOf(conn, profile); res.Status != idsync.StatusSuccess {
			t.Fatalf("%s %s: %s %s %+v", conn, profile, res.Status, res.Message, res.Steps)
		}
	}
	cycle := func() {
		t.Helper()
		step("src", "full-import")
		step("src", "full-sync")
		for _, target := range []string{"repl", "upd"} {
			step(target, "export")
			step(target, "full-import")
		}
	}
	phones := func(conn string) []string {
		t.Helper()
		objs := r.objectsOf(conn)
		if len(objs) != 1 {
			t.Fatalf("%s: %d objects in the connector space, want 1", conn, len(objs))
		}
		var out []string
		for _, o := range objs {
			if o.PendingExport != nil || len(o.ExportStatus) > 0 {
				t.Errorf("%s: export left pending or unconfirmed: %+v %v", conn, o.PendingExport, o.ExportStatus)
			}
			for _, v := range o.Attrs["telephoneNumber"] {
				out = append(out, v.String())
			}
		}
		sort.Strings(out)
		return out
	}
	cycle()
	for _, target := range []string{"repl", "upd"} {
		if got := phones(target); strings.Join(got, ",") != "111,222" {
			t.Errorf("%s after provisioning: telephoneNumber %v, want [111 222]", target, got)
		}
	}

	modify(t, l, "uid=xt1,"+src, "telephoneNumber", "222", "333", "444")
	cycle()
	for _, target := range []string{"repl", "upd"} {
		if got := phones(target); strings.Join(got, ",") != "222,333,444" {
			t.Errorf("%s after the update: telephoneNumber %v, want [222 333 444] (confirmed by import)", target, got)
		}
	}
	if got := lastModify(t, l, "uid=xt1,"+repl, "telephoneNumber"); strings.Join(got, " ") != "= 222 = 333 = 444" {
		t.Errorf("AttributeReplace target: the server received telephoneNumber as %q, want one replace with the new values", got)
	}
	if got := lastModify(t, l, "uid=xt1,"+upd, "telephoneNumber"); strings.Join(got, " ") != "+ 333 + 444 - 111" {
		t.Errorf("AttributeUpdate target: the server received telephoneNumber as %q, want value-level adds and a delete", got)
	}
}

// lastModify returns the changes to attr of the newest successful modify
// of dn that slapd's accesslog holds, each as "<op> <value>" (op "=" for
// replace, "+" add, "-" delete), sorted.
func lastModify(t *testing.T, l *goldap.Conn, dn, attr string) []string {
	t.Helper()
	res, err := l.SearchWithPaging(goldap.NewSearchRequest(accesslogBase, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=auditModify)(reqResult=0)(reqDN="+goldap.EscapeFilter(dn)+"))", []string{"reqStart", "reqMod"}, nil), 500)
	if err != nil {
		t.Fatalf("search the accesslog for %s: %v", dn, err)
	}
	var newest *goldap.Entry
	for _, e := range res.Entries {
		if newest == nil || e.GetAttributeValue("reqStart") > newest.GetAttributeValue("reqStart") {
			newest = e
		}
	}
	if newest == nil {
		t.Fatalf("the accesslog holds no modify of %s", dn)
	}
	var out []string
	for _, m := range newest.GetAttributeValues("reqMod") {
		name, rest, ok := strings.Cut(m, ":")
		if !ok || !strings.EqualFold(name, attr) || rest == "" {
			continue
		}
		out = append(out, strings.TrimSpace(rest[:1]+" "+strings.TrimSpace(rest[1:])))
	}
	sort.Strings(out)
	return out
}

// TestSpec9_2_ExportTypeAttributeReplaceAD: with `exportType:
// AttributeReplace` the engine sends a multi-valued attribute's new values
// whole (AttrReplace); the real Samba DC takes them as one replace of a
// reference attribute (member) and of a string one (otherTelephone), and
// the next import shows exactly the new values.
func TestSpec9_2_ExportTypeAttributeReplaceAD(t *testing.T) {
	s := need(t, "AD")
	l := s.admin(t)
	ou := s.testOU(t, l, "xt-replace")
	p := strings.ReplaceAll(rdnValue(ou)[len("xt-replace-"):], "-", "")
	var users []string
	for i := 1; i <= 3; i++ {
		users = append(users, fmt.Sprintf("CN=xu%d,%s", i, ou))
		add(t, l, users[i-1], adUser(fmt.Sprintf("x%s%d", p, i)))
	}
	g := "CN=xg," + ou
	add(t, l, g, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {"xg" + p}, "member": {users[0], users[1]}})
	u := adUser("xo" + p)
	u["otherTelephone"] = []string{"111", "222"}
	add(t, l, "CN=xo,"+ou, u)

	cfg := s.config(ou)
	cfg.ExportType = "AttributeReplace"
	cfg.ObjectClasses = map[string]string{"user": "user", "group": "group"}
	if got := cfg.Capabilities().ExportType; got != connector.ExportAttributeReplace {
		t.Fatalf("exportType AttributeReplace declares %s", got)
	}
	c := s.open(t, cfg)
	exportPages(t, c, []idsync.Change{
		{Op: idsync.OpUpdate, ObjectType: "group", DN: g, ID: "g", Mods: []idsync.AttrMod{
			{Name: "member", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.Ref(users[1]), idsync.Ref(users[2])}}}},
		{Op: idsync.OpUpdate, ObjectType: "user", DN: "CN=xo," + ou, ID: "o", Mods: []idsync.AttrMod{
			{Name: "otherTelephone", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("222"), idsync.String("333"), idsync.String("444")}}}},
	})
	snap, _ := importAll(t, c, connector.ImportOptions{})
	got := map[string]idsync.Entry{}
	for _, e := range snap {
		got[strings.ToLower(e.DN)] = e
	}
	if m := refStrings(got[strings.ToLower(g)].Attrs["member"]); strings.Join(m, ";") != strings.ToLower(users[1]+";"+users[2]) {
		t.Errorf("member after a replace = %v, want [%s %s]", m, users[1], users[2])
	}
	var phones []string
	for _, v := range got[strings.ToLower("CN=xo,"+ou)].Attrs["otherTelephone"] {
		phones = append(phones, v.String())
	}
	sort.Strings(phones)
	if strings.Join(phones, ",") != "222,333,444" {
		t.Errorf("otherTelephone after a replace = %v, want [222 333 444]", phones)
	}
}
