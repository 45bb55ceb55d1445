package scim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/host/hosttest"
)

// noPatchServer is idsync's connector host (hosttest, over an inmem
// system) behind a handler that makes it a server without PATCH: its
// /ServiceProviderConfig says patch.supported false and a PATCH is
// refused with 501. Neither SCIMMY nor the host can be configured to
// refuse PATCH, hence this small in-test handler; everything else,
// the resources included, is the real host's. It records every request.
type noPatchServer struct {
	env  *hosttest.Env
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	body         map[string]any
}

func (s *noPatchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	s.mu.Lock()
	s.reqs = append(s.reqs, recorded{r.Method, strings.TrimPrefix(r.URL.Path, "/scim/v2"), body})
	s.mu.Unlock()
	if r.Method == "PATCH" {
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(501)
		io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"501","detail":"PATCH is not supported"}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if !strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
		s.env.Server.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.env.Server.ServeHTTP(rec, r)
	var spc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &spc); err != nil || rec.Code != 200 {
		w.WriteHeader(500)
		return
	}
	spc["patch"] = map[string]any{"supported": false}
	w.Header().Set("Content-Type", "application/scim+json")
	json.NewEncoder(w).Encode(spc)
}

// requests returns the recorded requests with method.
func (s *noPatchServer) requests(method string) []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []recorded
	for _, r := range s.reqs {
		if r.method == method {
			out = append(out, r)
		}
	}
	return out
}

// TestUpdateByPUTWhenPatchIsUnsupported: against a server whose
// /ServiceProviderConfig says PATCH is not supported, the connector in
// its default update mode (auto) sends every update as a PUT of the whole
// resource — read, changed here, written back — never a PATCH, and
// nothing it did not change is lost: the other attributes of a user, and
// the members of a group it adds one to and removes another from.
func TestUpdateByPUTWhenPatchIsUnsupported(t *testing.T) {
	srv := &noPatchServer{env: hosttest.Start(t)}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c := openConn(t, target{name: "no-PATCH host", url: hs.URL + "/scim/v2", token: hosttest.Token})
	if c.cfg.Update != "" && c.cfg.Update != "auto" {
		t.Fatalf("update mode %q, want the default", c.cfg.Update)
	}

	user := func(name, given string) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{
			"userName": {idsync.String(name)}, "name.givenName": {idsync.String(given)}, "name.familyName": {idsync.String("Test")},
			"displayName": {idsync.String(given + " Test")}, "title": {idsync.String("Engineer")}, "active": {idsync.Bool(true)},
			"emails":               {idsync.String(name + "@example.com")},
			"phoneNumbers":         {idsync.String("+1 555 0100"), idsync.String("+1 555 0199")},
			ent + "employeeNumber": {idsync.String("E-" + name)},
			ent + "department":     {idsync.String("Research")},
		})}
	}
	res := export(t, c, user("ada", "Ada"), user("bob", "Bob"), user("cy", "Cy"))
	ok(t, res...)
	ada, bob, cy := res[0].Anchor, res[1].Anchor, res[2].Anchor
	g := export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "Group", Mods: idsync.ModsFromAttrs(idsync.Attrs{
		"displayName": {idsync.String("Tour Guides")}, "externalId": {idsync.String("G-1")},
		"members": {idsync.Ref(string(ada)), idsync.Ref(string(bob))},
	})})
	ok(t, g...)
	gid := g[0].Anchor
	sys := srv.env.System
	before := map[idsync.Anchor]idsync.Attrs{}
	for _, a := range []idsync.Anchor{ada, bob, cy, gid} {
		e, found := sys.Get(a)
		if !found {
			t.Fatalf("%s is not in the system after its create", a)
		}
		before[a] = e.Attrs
	}

	// The updates: a replace, a clear, a multi-valued add, a reference;
	// group members added and removed.
	ok(t, export(t, c,
		idsync.Change{Op: idsync.OpUpdate, ObjectType: "User", Anchor: ada, DN: string(ada), Mods: []idsync.AttrMod{
			{Name: "title", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Lead Engineer")}},
			{Name: ent + "department", Op: idsync.AttrClear},
			{Name: "phoneNumbers", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("+1 555 0142")}},
		}},
		idsync.Change{Op: idsync.OpUpdate, ObjectType: "User", Anchor: bob, DN: string(bob), Mods: []idsync.AttrMod{
			{Name: ent + "manager", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.Ref(string(ada))}},
		}},
		idsync.Change{Op: idsync.OpUpdate, ObjectType: "Group", Anchor: gid, DN: string(gid), Mods: []idsync.AttrMod{
			{Name: "members", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.Ref(string(cy))}},
			{Name: "members", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.Ref(string(ada))}},
		}},
	)...)

	if p := srv.requests("PATCH"); len(p) != 0 {
		t.Errorf("%d PATCH requests to a server that does not support PATCH, first %s", len(p), p[0].path)
	}
	puts := map[string]map[string]any{}
	for _, r := range srv.requests("PUT") {
		puts[r.path] = r.body
	}
	if len(puts) != 3 {
		t.Fatalf("PUT requests to %v, want one per updated resource", keys(puts))
	}
	// Each PUT carries the whole resource, not only what changed.
	if b := puts["/Users/"+string(ada)]; b["userName"] != "ada" || b["displayName"] != "Ada Test" || b["title"] != "Lead Engineer" ||
		b["name"] == nil || b["emails"] == nil || b["meta"] != nil ||
		b["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["employeeNumber"] != "E-ada" {
		t.Errorf("PUT of ada: %v", b)
	}
	if b := puts["/Groups/"+string(gid)]; b["displayName"] != "Tour Guides" || b["externalId"] != "G-1" || len(b["members"].([]any)) != 2 {
		t.Errorf("PUT of the group: %v", b)
	}

	// Nothing lost: each resource is what it was with only the changes.
	want := map[idsync.Anchor]idsync.Attrs{
		ada: before[ada].Clone().Apply([]idsync.AttrMod{
			{Name: "title", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Lead Engineer")}},
			{Name: "department", Op: idsync.AttrClear},
			{Name: "telephoneNumber", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("+1 555 0142")}}}),
		cy: before[cy],
	}
	for a, w := range want {
		e, _ := sys.Get(a)
		if d := diffAttrs(w, e.Attrs); d != "" {
			t.Errorf("%s after the update by PUT (connector attributes):\n%s", a, d)
		}
	}
	e, _ := sys.Get(bob)
	if d := diffAttrs(before[bob], without(e.Attrs, "manager")); d != "" || len(e.Attrs["manager"]) != 1 {
		t.Errorf("bob after the update by PUT:\n%s\nmanager %v", d, e.Attrs["manager"])
	}
	e, _ = sys.Get(gid)
	if d := diffAttrs(without(before[gid], "member"), without(e.Attrs, "member")); d != "" || len(e.Attrs["member"]) != 2 {
		t.Errorf("the group after the update by PUT:\n%s\nmember %v", d, e.Attrs["member"])
	}
	// Read back through the connector: the changes, by their SCIM names.
	got := importAll(t, c)
	if u := got["ada"]; u.Attrs.Get("title").String() != "Lead Engineer" || len(u.Attrs[ent+"department"]) > 0 ||
		refs(u.Attrs["phoneNumbers"]) != "+1 555 0100,+1 555 0142,+1 555 0199" || u.Attrs.Get(ent+"employeeNumber").String() != "E-ada" {
		t.Errorf("ada imported as %v", u.Attrs)
	}
	if u := got["bob"]; u.Attrs.Get(ent+"manager").String() != string(ada) || u.Attrs.Get("title").String() != "Engineer" {
		t.Errorf("bob imported as %v", u.Attrs)
	}
	want2 := strings.Join(sortStrings([]string{string(bob), string(cy)}), ",")
	if m := refs(got["group:Tour Guides"].Attrs["members"]); m != want2 {
		t.Errorf("members after add/delete by PUT = %s, want %s", m, want2)
	}
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

func without(a idsync.Attrs, name string) idsync.Attrs {
	out := a.Clone()
	delete(out, name)
	return out
}

// diffAttrs describes how got differs from want, in text form ("" when
// they hold the same values).
func diffAttrs(want, got idsync.Attrs) string {
	var b strings.Builder
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	for _, n := range sortStrings(sorted) {
		if w, g := refs(want[n]), refs(got[n]); w != g {
			b.WriteString("  " + n + ": want [" + w + "], got [" + g + "]\n")
		}
	}
	return b.String()
}
