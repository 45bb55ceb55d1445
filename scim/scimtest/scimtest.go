// Package scimtest is a SCIM 2.0 conformance suite written from RFC 7643
// and RFC 7644: authentication, discovery, create/read/replace/delete,
// filters, paging, PATCH semantics, groups and error documents. It runs
// against any SCIM server over HTTP — idsync's connector host and the
// SCIMMY test peer — using plain net/http requests.
//
// The suite creates its resources with a unique userName prefix, filters
// by that prefix so that other data on the server does not disturb it,
// and deletes what it created.
package scimtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// Target is the server under test.
type Target struct {
	// URL is the SCIM base URL (…/scim/v2), without a trailing slash.
	URL   string
	Token string
	// Skip names checks the server is known to fail, each with the reason
	// (a documented deviation from the RFC); every other check must pass.
	Skip map[string]string
	// Client defaults to http.DefaultClient.
	Client *http.Client
}

// Run runs the suite.
func Run(t *testing.T, tg Target) {
	if tg.Client == nil {
		tg.Client = http.DefaultClient
	}
	s := &suite{tg: tg, prefix: "scimtest-" + randHex(4)}
	for _, c := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"Auth", s.testAuth},
		{"Discovery", s.testDiscovery},
		{"CreateGet", s.testCreateGet},
		{"Uniqueness", s.testUniqueness},
		{"NotFound", s.testNotFound},
		{"Filters", s.testFilters},
		{"InvalidFilter", s.testInvalidFilter},
		{"Paging", s.testPaging},
		{"Replace", s.testReplace},
		{"Patch", s.testPatch},
		{"PatchErrors", s.testPatchErrors},
		{"EnterpriseExtension", s.testEnterprise},
		{"Groups", s.testGroups},
		{"Delete", s.testDelete},
	} {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := tg.Skip[c.name]; ok {
				t.Skipf("known deviation of this server: %s", why)
			}
			c.f(t)
		})
	}
}

type suite struct {
	tg     Target
	prefix string
	n      int
}

// skipCheck skips one named check inside a subtest (Skip key "Sub/check").
func (s *suite) skipCheck(t *testing.T, name string) bool {
	if why, ok := s.tg.Skip[name]; ok {
		t.Logf("check %s skipped, known deviation of this server: %s", name, why)
		return true
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type response struct {
	status int
	header http.Header
	body   []byte
	obj    map[string]any
}

func (s *suite) do(t *testing.T, method, path string, body any, token string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.tg.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("Accept", "application/scim+json")
	resp, err := s.tg.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if len(b) > 0 {
		json.Unmarshal(b, &r.obj)
	}
	return r
}

func (s *suite) call(t *testing.T, method, path string, body any) response {
	t.Helper()
	return s.do(t, method, path, body, s.tg.Token)
}

func (s *suite) want(t *testing.T, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
}

// wantError checks an RFC 7644 §3.12 error document.
func (s *suite) wantError(t *testing.T, r response, status int, scimType, what string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
		return
	}
	if !hasString(r.obj["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error") {
		t.Errorf("%s: error body lacks the Error schema: %s", what, r.body)
	}
	if st := fmt.Sprint(r.obj["status"]); st != fmt.Sprint(status) {
		t.Errorf("%s: error body status %q, want %q", what, st, fmt.Sprint(status))
	}
	if scimType != "" && r.obj["scimType"] != scimType {
		t.Errorf("%s: scimType %v, want %s; body %s", what, r.obj["scimType"], scimType, r.body)
	}
}

func hasString(v any, s string) bool {
	l, _ := v.([]any)
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (s *suite) userName(tag string) string {
	s.n++
	return fmt.Sprintf("%s-%s-%d@example.com", s.prefix, tag, s.n)
}

// user returns a user resource.
func user(userName, given, family, display, externalID, mail string) map[string]any {
	u := map[string]any{
		"schemas":  []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
		"name": map[string]any{"givenName": given, "familyName": family},
	}
	if display != "" {
		u["displayName"] = display
	}
	if externalID != "" {
		u["externalId"] = externalID
	}
	if mail != "" {
		u["emails"] = []any{map[string]any{"value": mail, "type": "work", "primary": true}}
	}
	return u
}

// create POSTs a resource, checks the 201 and schedules its deletion.
func (s *suite) create(t *testing.T, endpoint string, res map[string]any) map[string]any {
	t.Helper()
	r := s.call(t, "POST", endpoint, res)
	s.want(t, r, 201, "POST "+endpoint)
	id, _ := r.obj["id"].(string)
	if id == "" {
		t.Fatalf("POST %s: no id in %s", endpoint, r.body)
	}
	t.Cleanup(func() {
		s.do(t, "DELETE", endpoint+"/"+url.PathEscape(id), nil, s.tg.Token)
	})
	return r.obj
}

func (s *suite) get(t *testing.T, endpoint, id string) map[string]any {
	t.Helper()
	r := s.call(t, "GET", endpoint+"/"+url.PathEscape(id), nil)
	s.want(t, r, 200, "GET "+endpoint+"/"+id)
	return r.obj
}

func (s *suite) query(t *testing.T, endpoint string, params url.Values) map[string]any {
	t.Helper()
	r := s.call(t, "GET", endpoint+"?"+params.Encode(), nil)
	s.want(t, r, 200, "GET "+endpoint+"?"+params.Encode())
	if !hasString(r.obj["schemas"], "urn:ietf:params:scim:api:messages:2.0:ListResponse") {
		t.Errorf("query answer lacks the ListResponse schema: %s", r.body)
	}
	return r.obj
}

// ids returns the ids of a ListResponse's resources, sorted.
func ids(lr map[string]any) []string {
	var out []string
	l, _ := lr["Resources"].([]any)
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["id"]))
		}
	}
	sort.Strings(out)
	return out
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func (s *suite) testAuth(t *testing.T) {
	r := s.do(t, "GET", "/Users?count=1", nil, "")
	s.wantError(t, r, 401, "", "GET without a token")
	r = s.do(t, "GET", "/Users?count=1", nil, "wrong-"+s.tg.Token)
	s.wantError(t, r, 401, "", "GET with a wrong token")
	r = s.call(t, "GET", "/Users?count=1", nil)
	s.want(t, r, 200, "GET with the token")
}

func (s *suite) testDiscovery(t *testing.T) {
	r := s.call(t, "GET", "/ServiceProviderConfig", nil)
	s.want(t, r, 200, "GET /ServiceProviderConfig")
	if !hasString(r.obj["schemas"], "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig") {
		t.Errorf("ServiceProviderConfig schemas: %s", r.body)
	}
	for _, k := range []string{"patch", "bulk", "filter", "changePassword", "sort", "etag"} {
		m, _ := r.obj[k].(map[string]any)
		if _, ok := m["supported"].(bool); !ok {
			t.Errorf("ServiceProviderConfig.%s.supported missing (RFC 7643 §5): %s", k, r.body)
		}
	}
	if l, _ := r.obj["authenticationSchemes"].([]any); len(l) == 0 {
		t.Errorf("ServiceProviderConfig has no authenticationSchemes")
	}
	lr := s.query(t, "/ResourceTypes", nil)
	found := map[string]string{}
	for _, x := range lr["Resources"].([]any) {
		m := x.(map[string]any)
		found[fmt.Sprint(m["name"])] = fmt.Sprint(m["endpoint"]) + " " + fmt.Sprint(m["schema"])
	}
	if found["User"] != "/Users urn:ietf:params:scim:schemas:core:2.0:User" || found["Group"] != "/Groups urn:ietf:params:scim:schemas:core:2.0:Group" {
		t.Errorf("ResourceTypes = %v, want User at /Users and Group at /Groups", found)
	}
	r = s.call(t, "GET", "/ResourceTypes/User", nil)
	s.want(t, r, 200, "GET /ResourceTypes/User")
	lr = s.query(t, "/Schemas", nil)
	var userAttrs []string
	for _, x := range lr["Resources"].([]any) {
		m := x.(map[string]any)
		if m["id"] == "urn:ietf:params:scim:schemas:core:2.0:User" {
			for _, a := range m["attributes"].([]any) {
				userAttrs = append(userAttrs, fmt.Sprint(a.(map[string]any)["name"]))
			}
		}
	}
	if !contains(userAttrs, "userName") {
		t.Errorf("the User schema lacks userName: %v", userAttrs)
	}
	r = s.call(t, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil)
	s.want(t, r, 200, "GET /Schemas/{User URN}")
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (s *suite) testCreateGet(t *testing.T) {
	name := s.userName("create")
	r := s.call(t, "POST", "/Users", user(name, "Ada", "Lovelace", "Ada Lovelace", "ext-"+name, "ada@example.com"))
	s.want(t, r, 201, "POST /Users")
	id, _ := r.obj["id"].(string)
	if id == "" {
		t.Fatalf("no id: %s", r.body)
	}
	t.Cleanup(func() { s.do(t, "DELETE", "/Users/"+url.PathEscape(id), nil, s.tg.Token) })
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q, want application/scim+json (RFC 7644 §3.1)", ct)
	}
	if r.obj["userName"] != name {
		t.Errorf("created userName %v, want %s", r.obj["userName"], name)
	}
	meta, _ := r.obj["meta"].(map[string]any)
	if meta["resourceType"] != "User" {
		t.Errorf("meta.resourceType %v, want User", meta["resourceType"])
	}
	loc, _ := meta["location"].(string)
	if !strings.HasSuffix(loc, "/Users/"+id) {
		t.Errorf("meta.location %q does not end with /Users/%s", loc, id)
	}
	if !s.skipCheck(t, "CreateGet/LocationHeader") {
		if h := r.header.Get("Location"); h != loc {
			t.Errorf("Location header %q, want meta.location %q (RFC 7644 §3.3)", h, loc)
		}
	}
	got := s.get(t, "/Users", id)
	if got["userName"] != name || got["externalId"] != "ext-"+name || got["displayName"] != "Ada Lovelace" {
		t.Errorf("GET returned %v", got)
	}
	if n, _ := got["name"].(map[string]any); n["givenName"] != "Ada" || n["familyName"] != "Lovelace" {
		t.Errorf("GET name = %v", got["name"])
	}
	if got["active"] != true {
		t.Errorf("GET active = %v (%T), want the boolean true", got["active"], got["active"])
	}
	if !hasEmail(got, "ada@example.com", "work") {
		t.Errorf("GET emails = %v", got["emails"])
	}
}

func hasEmail(res map[string]any, value, typ string) bool {
	l, _ := res["emails"].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		if strings.EqualFold(fmt.Sprint(m["value"]), value) && (typ == "" || m["type"] == typ) {
			return true
		}
	}
	return false
}

func (s *suite) testUniqueness(t *testing.T) {
	name := s.userName("unique")
	s.create(t, "/Users", user(name, "U", "Nique", "", "", ""))
	r := s.call(t, "POST", "/Users", user(strings.ToUpper(name), "U", "Nique", "", "", ""))
	if r.status == 201 {
		id, _ := r.obj["id"].(string)
		s.call(t, "DELETE", "/Users/"+url.PathEscape(id), nil)
	}
	s.wantError(t, r, 409, "uniqueness", "POST of a userName taken (in another case)")
}

func (s *suite) testNotFound(t *testing.T) {
	for _, m := range []string{"GET", "DELETE"} {
		r := s.call(t, m, "/Users/scimtest-no-such-id-"+randHex(4), nil)
		s.wantError(t, r, 404, "", m+" of an unknown id")
	}
	r := s.call(t, "PUT", "/Users/scimtest-no-such-id-"+randHex(4), user(s.userName("x"), "a", "b", "", "", ""))
	s.wantError(t, r, 404, "", "PUT of an unknown id")
}

// three creates the users the filter and paging checks query.
func (s *suite) three(t *testing.T, tag string) (pfx string, ids []string, objs []map[string]any) {
	pfx = s.prefix + "-" + tag + "-" + randHex(2)
	for i, d := range []struct{ given, display, title string }{{"Alice", "Alice Abbot", "Engineer"}, {"Bob", "Bob Babbage", ""}, {"Carol", "Carol Cooper", "Manager"}} {
		u := user(fmt.Sprintf("%s-%d@example.com", pfx, i), d.given, "Test", d.display, fmt.Sprintf("%s-ext-%d", pfx, i), fmt.Sprintf("%s-%d@mail.example", pfx, i))
		if d.title != "" {
			u["title"] = d.title
		}
		o := s.create(t, "/Users", u)
		ids = append(ids, o["id"].(string))
		objs = append(objs, o)
	}
	return pfx, ids, objs
}

func (s *suite) testFilters(t *testing.T) {
	pfx, id, _ := s.three(t, "f")
	scope := fmt.Sprintf(`userName sw %q`, pfx)
	for _, c := range []struct {
		name   string
		filter string
		want   []string
	}{
		{"eq userName", fmt.Sprintf(`userName eq %q`, pfx+"-1@example.com"), []string{id[1]}},
		{"eq userName is case-insensitive", fmt.Sprintf(`userName eq %q`, strings.ToUpper(pfx+"-1@example.com")), []string{id[1]}},
		{"eq externalId", fmt.Sprintf(`externalId eq %q`, pfx+"-ext-2"), []string{id[2]}},
		{"eq id", fmt.Sprintf(`id eq %q`, id[0]), []string{id[0]}},
		{"eq emails", fmt.Sprintf(`emails eq %q`, pfx+"-2@mail.example"), []string{id[2]}},
		{"eq emails.value", fmt.Sprintf(`emails.value eq %q`, pfx+"-0@mail.example"), []string{id[0]}},
		{"value filter on emails", fmt.Sprintf(`emails[type eq "work" and value eq %q]`, pfx+"-1@mail.example"), []string{id[1]}},
		{"eq displayName", `displayName eq "Carol Cooper" and ` + scope, []string{id[2]}},
		{"sw userName", scope, id},
		{"sw displayName", `displayName sw "bob" and ` + scope, []string{id[1]}},
		{"pr", `title pr and ` + scope, []string{id[0], id[2]}},
		{"or", fmt.Sprintf(`userName eq %q or externalId eq %q`, pfx+"-0@example.com", pfx+"-ext-2"), []string{id[0], id[2]}},
		{"and with parentheses", fmt.Sprintf(`(displayName sw "A" or displayName sw "C") and %s`, scope), []string{id[0], id[2]}},
		{"not", fmt.Sprintf(`not (title pr) and %s`, scope), []string{id[1]}},
		{"eq no match", fmt.Sprintf(`userName eq %q`, pfx+"-9@example.com"), nil},
		{"operators are case-insensitive", fmt.Sprintf(`userName EQ %q`, pfx+"-1@example.com"), []string{id[1]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if s.skipCheck(t, "Filters/"+c.name) {
				return
			}
			lr := s.query(t, "/Users", url.Values{"filter": {c.filter}})
			got := ids(lr)
			want := append([]string(nil), c.want...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("filter %s: ids %v, want %v", c.filter, got, want)
			}
			if num(lr["totalResults"]) != len(want) {
				t.Errorf("filter %s: totalResults %v, want %d", c.filter, lr["totalResults"], len(want))
			}
		})
	}
}

func (s *suite) testInvalidFilter(t *testing.T) {
	for _, f := range []string{`userName eq`, `userName zz "a"`, `(userName eq "a"`, `userName eq "a" and`} {
		r := s.call(t, "GET", "/Users?"+url.Values{"filter": {f}}.Encode(), nil)
		s.wantError(t, r, 400, "invalidFilter", "filter "+f)
	}
}

func (s *suite) testPaging(t *testing.T) {
	pfx, id, _ := s.three(t, "p")
	filter := fmt.Sprintf(`userName sw %q`, pfx)
	var seen []string
	for start := 1; start <= 3; start++ {
		lr := s.query(t, "/Users", url.Values{"filter": {filter}, "startIndex": {fmt.Sprint(start)}, "count": {"1"}})
		if num(lr["totalResults"]) != 3 || num(lr["startIndex"]) != start || num(lr["itemsPerPage"]) != 1 {
			t.Errorf("page %d: totalResults %v startIndex %v itemsPerPage %v, want 3 %d 1", start, lr["totalResults"], lr["startIndex"], lr["itemsPerPage"], start)
		}
		seen = append(seen, ids(lr)...)
	}
	sort.Strings(seen)
	want := append([]string(nil), id...)
	sort.Strings(want)
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("pages of one returned %v, want each of %v once", seen, want)
	}
	lr := s.query(t, "/Users", url.Values{"filter": {filter}, "startIndex": {"3"}, "count": {"10"}})
	if len(ids(lr)) != 1 || num(lr["totalResults"]) != 3 {
		t.Errorf("startIndex 3 count 10: %d resources of %v, want 1 of 3", len(ids(lr)), lr["totalResults"])
	}
	if !s.skipCheck(t, "Paging/count=0") {
		lr = s.query(t, "/Users", url.Values{"filter": {filter}, "count": {"0"}})
		if len(ids(lr)) != 0 || num(lr["totalResults"]) != 3 {
			t.Errorf("count 0: %d resources, totalResults %v; want 0 and 3 (RFC 7644 §3.4.2.4)", len(ids(lr)), lr["totalResults"])
		}
	}
	if !s.skipCheck(t, "Paging/startIndex<1") {
		lr = s.query(t, "/Users", url.Values{"filter": {filter}, "startIndex": {"0"}})
		if len(ids(lr)) != 3 || num(lr["startIndex"]) != 1 {
			t.Errorf("startIndex 0: %d resources, startIndex %v; want 3 from 1 (RFC 7644 §3.4.2.4: less than 1 is 1)", len(ids(lr)), lr["startIndex"])
		}
	}
	if s.skipCheck(t, "Paging/startIndex past the end") {
		return
	}
	lr = s.query(t, "/Users", url.Values{"filter": {filter}, "startIndex": {"7"}})
	if len(ids(lr)) != 0 || num(lr["totalResults"]) != 3 {
		t.Errorf("startIndex past the end: %d resources of %v, want 0 of 3", len(ids(lr)), lr["totalResults"])
	}
}

func (s *suite) testReplace(t *testing.T) {
	name := s.userName("put")
	u := user(name, "Grace", "Hopper", "Grace Hopper", "", "grace@example.com")
	u["title"] = "Rear Admiral"
	o := s.create(t, "/Users", u)
	id := o["id"].(string)
	n := user(name, "Grace", "Hopper", "Amazing Grace", "", "grace@example.com")
	n["id"] = id
	r := s.call(t, "PUT", "/Users/"+url.PathEscape(id), n)
	s.want(t, r, 200, "PUT")
	got := s.get(t, "/Users", id)
	if got["displayName"] != "Amazing Grace" {
		t.Errorf("after PUT displayName = %v", got["displayName"])
	}
	if _, ok := got["title"]; ok {
		t.Errorf("after PUT without title, title = %v, want absent (PUT replaces, RFC 7644 §3.5.1)", got["title"])
	}
	if got["id"] != id {
		t.Errorf("PUT changed the id to %v", got["id"])
	}
}

func patchOp(ops ...map[string]any) map[string]any {
	l := make([]any, len(ops))
	for i, o := range ops {
		l[i] = o
	}
	return map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": l}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func (s *suite) patch(t *testing.T, endpoint, id string, body map[string]any) map[string]any {
	t.Helper()
	r := s.call(t, "PATCH", endpoint+"/"+url.PathEscape(id), body)
	if r.status != 200 && r.status != 204 {
		t.Fatalf("PATCH %v: status %d: %s", body["Operations"], r.status, r.body)
	}
	return s.get(t, endpoint, id)
}

func (s *suite) testPatch(t *testing.T) {
	name := s.userName("patch")
	o := s.create(t, "/Users", user(name, "Alan", "Turing", "Alan Turing", "", "alan@example.com"))
	id := o["id"].(string)

	got := s.patch(t, "/Users", id, patchOp(op("replace", "displayName", "A. M. Turing")))
	if got["displayName"] != "A. M. Turing" {
		t.Errorf("replace displayName: %v", got["displayName"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("add", "title", "Mathematician")))
	if got["title"] != "Mathematician" {
		t.Errorf("add title: %v", got["title"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("replace", "name.givenName", "Alan Mathison")))
	if n, _ := got["name"].(map[string]any); n["givenName"] != "Alan Mathison" || n["familyName"] != "Turing" {
		t.Errorf("replace name.givenName: name = %v (familyName must stay)", got["name"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("remove", "title", nil)))
	if _, ok := got["title"]; ok {
		t.Errorf("remove title: title = %v", got["title"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("replace", "", map[string]any{"active": false, "displayName": "Turing"})))
	if got["active"] != false || got["displayName"] != "Turing" {
		t.Errorf("replace without path: active %v displayName %v", got["active"], got["displayName"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("replace", `emails[type eq "work"].value`, "turing@example.com")))
	if !hasEmail(got, "turing@example.com", "work") || hasEmail(got, "alan@example.com", "") {
		t.Errorf("replace emails[type eq work].value: emails = %v", got["emails"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("remove", `emails[type eq "work"]`, nil)))
	if hasEmail(got, "turing@example.com", "") {
		t.Errorf("remove emails[type eq work]: emails = %v", got["emails"])
	}
	got = s.patch(t, "/Users", id, patchOp(op("add", "emails", []any{map[string]any{"value": "at@example.com", "type": "work"}})))
	if !hasEmail(got, "at@example.com", "work") {
		t.Errorf("add emails: emails = %v", got["emails"])
	}
	// Several operations apply in order, atomically.
	got = s.patch(t, "/Users", id, patchOp(op("add", "title", "A"), op("replace", "title", "B")))
	if got["title"] != "B" {
		t.Errorf("add then replace title: %v, want B", got["title"])
	}
	if got["userName"] != name {
		t.Errorf("userName changed to %v", got["userName"])
	}
}

func (s *suite) testPatchErrors(t *testing.T) {
	name := s.userName("patcherr")
	o := s.create(t, "/Users", user(name, "E", "Rror", "Error", "", ""))
	id := o["id"].(string)
	for _, c := range []struct {
		name, scimType string
		body           map[string]any
	}{
		{"remove without path", "noTarget", patchOp(op("remove", "", nil))},
		{"invalid path", "invalidPath", patchOp(op("replace", `emails[type eq`, "x"))},
		{"unknown op", "", patchOp(op("frobnicate", "title", "x"))},
	} {
		if s.skipCheck(t, "PatchErrors/"+c.name) {
			continue
		}
		r := s.call(t, "PATCH", "/Users/"+url.PathEscape(id), c.body)
		s.wantError(t, r, 400, c.scimType, "PATCH "+c.name)
	}
	got := s.get(t, "/Users", id)
	if got["displayName"] != "Error" {
		t.Errorf("a failed PATCH changed the user: displayName %v", got["displayName"])
	}
}

func (s *suite) testEnterprise(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	name := s.userName("ent")
	u := user(name, "Ent", "Erprise", "", "", "")
	u["schemas"] = []any{"urn:ietf:params:scim:schemas:core:2.0:User", ent}
	u[ent] = map[string]any{"employeeNumber": "701984", "department": "Tour Operations"}
	o := s.create(t, "/Users", u)
	id := o["id"].(string)
	got := s.get(t, "/Users", id)
	e, _ := got[ent].(map[string]any)
	if e["employeeNumber"] != "701984" || e["department"] != "Tour Operations" {
		t.Errorf("enterprise extension = %v", got[ent])
	}
	got = s.patch(t, "/Users", id, patchOp(op("replace", ent+":department", "Research")))
	if e, _ := got[ent].(map[string]any); e["department"] != "Research" || e["employeeNumber"] != "701984" {
		t.Errorf("after replace of %s:department: %v", ent, got[ent])
	}
}

func members(g map[string]any) []string {
	var out []string
	l, _ := g["members"].([]any)
	for _, x := range l {
		m, _ := x.(map[string]any)
		out = append(out, fmt.Sprint(m["value"]))
	}
	sort.Strings(out)
	return out
}

func (s *suite) testGroups(t *testing.T) {
	u1 := s.create(t, "/Users", user(s.userName("g"), "M", "One", "", "", ""))["id"].(string)
	u2 := s.create(t, "/Users", user(s.userName("g"), "M", "Two", "", "", ""))["id"].(string)
	u3 := s.create(t, "/Users", user(s.userName("g"), "M", "Three", "", "", ""))["id"].(string)
	gname := s.prefix + "-group-" + randHex(2)
	g := s.create(t, "/Groups", map[string]any{
		"schemas":     []any{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": gname, "members": []any{map[string]any{"value": u1}},
	})
	gid := g["id"].(string)
	sorted := func(ss ...string) string { sort.Strings(ss); return strings.Join(ss, ",") }
	if got := members(s.get(t, "/Groups", gid)); strings.Join(got, ",") != u1 {
		t.Errorf("created group members = %v, want [%s]", got, u1)
	}
	lr := s.query(t, "/Groups", url.Values{"filter": {fmt.Sprintf(`displayName eq %q`, gname)}})
	if strings.Join(ids(lr), ",") != gid {
		t.Errorf("filter on group displayName: %v, want [%s]", ids(lr), gid)
	}
	got := s.patch(t, "/Groups", gid, patchOp(op("add", "members", []any{map[string]any{"value": u2}, map[string]any{"value": u3}})))
	if strings.Join(members(got), ",") != sorted(u1, u2, u3) {
		t.Errorf("after add members: %v", members(got))
	}
	got = s.patch(t, "/Groups", gid, patchOp(op("remove", fmt.Sprintf(`members[value eq %q]`, u1), nil)))
	if strings.Join(members(got), ",") != sorted(u2, u3) {
		t.Errorf("after remove members[value eq u1]: %v", members(got))
	}
	got = s.patch(t, "/Groups", gid, patchOp(op("replace", "members", []any{map[string]any{"value": u1}})))
	if strings.Join(members(got), ",") != u1 {
		t.Errorf("after replace members: %v", members(got))
	}
	got = s.patch(t, "/Groups", gid, patchOp(op("remove", "members", nil)))
	if len(members(got)) != 0 {
		t.Errorf("after remove members: %v", members(got))
	}
	r := s.call(t, "DELETE", "/Groups/"+url.PathEscape(gid), nil)
	s.want(t, r, 204, "DELETE group")
	r = s.call(t, "GET", "/Groups/"+url.PathEscape(gid), nil)
	s.wantError(t, r, 404, "", "GET of a deleted group")
}

func (s *suite) testDelete(t *testing.T) {
	r := s.call(t, "POST", "/Users", user(s.userName("del"), "D", "Elete", "", "", ""))
	s.want(t, r, 201, "POST")
	id := r.obj["id"].(string)
	r = s.call(t, "DELETE", "/Users/"+url.PathEscape(id), nil)
	s.want(t, r, 204, "DELETE")
	r = s.call(t, "GET", "/Users/"+url.PathEscape(id), nil)
	s.wantError(t, r, 404, "", "GET after DELETE")
	r = s.call(t, "DELETE", "/Users/"+url.PathEscape(id), nil)
	s.wantError(t, r, 404, "", "DELETE again")
}
