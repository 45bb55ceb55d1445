package ldap

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

func exportPages(t *testing.T, c *conn, pages ...[]idsync.Change) map[string]connector.ExportResult {
	t.Helper()
	ctx := context.Background()
	sess, err := c.OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx)
	out := map[string]connector.ExportResult{}
	for _, p := range pages {
		res, err := sess.ExportPage(ctx, p)
		if err != nil {
			t.Fatalf("ExportPage: %v", err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Errorf("export %s: %s %v", r.ID, r.ErrorType, r.Err)
			}
			out[r.ID] = r
		}
	}
	return out
}

func refStrings(vs []idsync.Value) []string {
	var out []string
	for _, v := range vs {
		if v.Type != idsync.TypeReference {
			out = append(out, "not a reference: "+v.String())
			continue
		}
		out = append(out, strings.ToLower(v.Str))
	}
	sort.Strings(out)
	return out
}

// TestSpec9_2_TwoPassReferenceExportAD exports as the engine does with
// noReferenceValuesInFirstExportPass: a first pass adds a group before
// the users it will hold, without its member values; a second pass adds
// them. The next import shows member and manager as DN references; an
// exported move of a member keeps the group's member and the manager
// reference pointing at it, now at its new DN (the directory follows the
// link); a value-level delete then removes one member.
func TestSpec9_2_TwoPassReferenceExportAD(t *testing.T) {
	s := need(t, "AD")
	l := s.admin(t)
	ou := s.testOU(t, l, "refs")
	cfg := s.config(ou)
	cfg.ObjectClasses = map[string]string{"user": "user", "group": "group"}
	if !cfg.Capabilities().NoReferencesInFirstPass {
		t.Fatal("the connector does not declare noReferenceValuesInFirstExportPass by default")
	}
	c := s.open(t, cfg)
	g, u1, u2 := "CN=refgrp,"+ou, "CN=refu1,"+ou, "CN=refu2,"+ou
	ref := func(dns ...string) []idsync.Value {
		var vs []idsync.Value
		for _, d := range dns {
			vs = append(vs, idsync.Ref(d))
		}
		return vs
	}
	exportPages(t, c,
		[]idsync.Change{
			{Op: idsync.OpAdd, ObjectType: "group", DN: g, ID: "g"},
			{Op: idsync.OpAdd, ObjectType: "user", DN: u1, ID: "u1"},
			{Op: idsync.OpAdd, ObjectType: "user", DN: u2, ID: "u2"},
		},
		[]idsync.Change{
			{Op: idsync.OpUpdate, ObjectType: "group", DN: g, ID: "g2", Mods: []idsync.AttrMod{{Name: "member", Op: idsync.AttrAdd, Values: ref(u1, u2)}}},
			{Op: idsync.OpUpdate, ObjectType: "user", DN: u2, ID: "u2b", Mods: []idsync.AttrMod{{Name: "manager", Op: idsync.AttrReplace, Values: ref(u1)}}},
		})
	snap, _ := importAll(t, c, connector.ImportOptions{})
	keys := map[string]idsync.Entry{}
	for _, e := range snap {
		keys[strings.ToLower(e.DN)] = e
	}
	if got := refStrings(keys[strings.ToLower(g)].Attrs["member"]); strings.Join(got, ";") != strings.ToLower(u1+";"+u2) {
		t.Errorf("group member after two passes = %v", got)
	}
	if got := refStrings(keys[strings.ToLower(u2)].Attrs["manager"]); len(got) != 1 || got[0] != strings.ToLower(u1) {
		t.Errorf("manager = %v", got)
	}
	// Move a member (modDN with newSuperior, exported as the engine does):
	// the directory follows the link, so the next import shows the group's
	// member and the manager at the new DN, and the same anchor there.
	sub := "OU=moved," + ou
	add(t, l, sub, map[string][]string{"objectClass": {"organizationalUnit"}})
	u1Anchor := keys[strings.ToLower(u1)].Anchor
	u1m := "CN=refu1," + sub
	if res := exportPages(t, c, []idsync.Change{{Op: idsync.OpUpdate, ObjectType: "user", DN: u1, NewDN: u1m, Anchor: u1Anchor, ID: "u1m"}}); !strings.EqualFold(res["u1m"].DN, u1m) {
		t.Errorf("move of %s: result DN %q, want %q", u1, res["u1m"].DN, u1m)
	}
	snap, _ = importAll(t, c, connector.ImportOptions{})
	keys = map[string]idsync.Entry{}
	for _, e := range snap {
		keys[strings.ToLower(e.DN)] = e
	}
	if e, ok := keys[strings.ToLower(u1m)]; !ok || e.Anchor != u1Anchor {
		t.Errorf("after the move %s has anchor %q (imported: %v), want %s", u1m, e.Anchor, ok, u1Anchor)
	}
	if _, ok := keys[strings.ToLower(u1)]; ok {
		t.Errorf("after the move an object is still at %s", u1)
	}
	if got := refStrings(keys[strings.ToLower(g)].Attrs["member"]); strings.Join(got, ";") != strings.ToLower(u1m+";"+u2) {
		t.Errorf("group member after moving a member = %v, want [%s %s]", got, u1m, u2)
	}
	if got := refStrings(keys[strings.ToLower(u2)].Attrs["manager"]); len(got) != 1 || got[0] != strings.ToLower(u1m) {
		t.Errorf("manager after moving the manager = %v, want [%s]", got, u1m)
	}
	// Value-level update: remove one member.
	exportPages(t, c, []idsync.Change{{Op: idsync.OpUpdate, ObjectType: "group", DN: g, ID: "g3",
		Mods: []idsync.AttrMod{{Name: "member", Op: idsync.AttrDelete, Values: ref(u2)}}}})
	snap, _ = importAll(t, c, connector.ImportOptions{})
	found := false
	for _, e := range snap {
		if strings.EqualFold(e.DN, g) {
			found = true
			if got := refStrings(e.Attrs["member"]); len(got) != 1 || got[0] != strings.ToLower(u1m) {
				t.Errorf("member after removing one = %v, want [%s]", got, strings.ToLower(u1m))
			}
		}
	}
	if !found {
		t.Errorf("group %s not imported", g)
	}
}

// TestSpec9_2_ReferencesOpenLDAP: groupOfNames member values import as
// references and are updated value by value.
func TestSpec9_2_ReferencesOpenLDAP(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	ou := s.testOU(t, l, "refs")
	for _, u := range []string{"r1", "r2", "r3"} {
		add(t, l, "uid="+u+","+ou, person(u))
	}
	g := "cn=grp," + ou
	add(t, l, g, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"grp"}, "member": {"uid=r1," + ou, "uid=r2," + ou}})
	cfg := s.config(ou)
	cfg.ObjectClasses = map[string]string{"person": "inetOrgPerson", "group": "groupOfNames"}
	c := s.open(t, cfg)
	exportPages(t, c, []idsync.Change{{Op: idsync.OpUpdate, ObjectType: "group", DN: g, ID: "g", Mods: []idsync.AttrMod{
		{Name: "member", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.Ref("uid=r3," + ou)}},
		{Name: "member", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.Ref("uid=r1," + ou)}},
	}}})
	snap, _ := importAll(t, c, connector.ImportOptions{})
	var grp *idsync.Entry
	for _, e := range snap {
		if strings.EqualFold(e.DN, g) {
			grp = &e
		}
	}
	if grp == nil || grp.ObjectType != "group" {
		t.Fatalf("group not imported as type group: %+v", grp)
	}
	want := []string{strings.ToLower("uid=r2," + ou), strings.ToLower("uid=r3," + ou)}
	if got := refStrings(grp.Attrs["member"]); strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("member = %v, want %v", got, want)
	}
}

// TestSpec9_2_TwoPassGroupOfNamesPlaceholder: OpenLDAP's groupOfNames
// requires member, so the first export pass adds the group with the
// configured placeholder member; the second pass adds the real members
// and removes the placeholder. Without a placeholder the add fails with
// ObjectClassViolation.
func TestSpec9_2_TwoPassGroupOfNamesPlaceholder(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	ou := s.testOU(t, l, "placeholder")
	cfg := s.config(ou)
	cfg.ObjectClasses = map[string]string{"person": "inetOrgPerson", "group": "groupOfNames"}
	c := s.open(t, cfg)
	sess, err := c.OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.ExportPage(context.Background(), []idsync.Change{{Op: idsync.OpAdd, ObjectType: "group", DN: "cn=g0," + ou, ID: "g0",
		Mods: []idsync.AttrMod{{Name: "cn", Values: []idsync.Value{idsync.String("g0")}}}}})
	if err != nil || res[0].ErrorType != "ObjectClassViolation" {
		t.Errorf("groupOfNames add without member and placeholder: %v %+v, want ObjectClassViolation", err, res)
	}
	sess.Close(context.Background())

	cfg.PlaceholderMember = "cn=placeholder"
	c = s.open(t, cfg)
	g, u1, u2 := "cn=g1,"+ou, "uid=pu1,"+ou, "uid=pu2,"+ou
	user := func(dn, uid string) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ObjectType: "person", DN: dn, ID: uid, Mods: []idsync.AttrMod{
			{Name: "uid", Values: []idsync.Value{idsync.String(uid)}}, {Name: "cn", Values: []idsync.Value{idsync.String(uid)}},
			{Name: "sn", Values: []idsync.Value{idsync.String(uid)}}}}
	}
	exportPages(t, c,
		[]idsync.Change{
			{Op: idsync.OpAdd, ObjectType: "group", DN: g, ID: "g1", Mods: []idsync.AttrMod{{Name: "cn", Values: []idsync.Value{idsync.String("g1")}}}},
			user(u1, "pu1"), user(u2, "pu2"),
		},
		[]idsync.Change{{Op: idsync.OpUpdate, ObjectType: "group", DN: g, ID: "g1b",
			Mods: []idsync.AttrMod{{Name: "member", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.Ref(u1), idsync.Ref(u2)}}}}})
	snap, _ := importAll(t, c, connector.ImportOptions{})
	for _, e := range snap {
		if strings.EqualFold(e.DN, g) {
			want := []string{strings.ToLower(u1), strings.ToLower(u2)}
			if got := refStrings(e.Attrs["member"]); strings.Join(got, ";") != strings.Join(want, ";") {
				t.Errorf("member after two passes = %v, want %v (placeholder removed)", got, want)
			}
			return
		}
	}
	t.Errorf("group %s not imported", g)
}
