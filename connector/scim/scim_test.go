package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/host/hosttest"
)

// target is a SCIM server the tests run against.
type target struct {
	name, url, token string
}

// scimmy returns a fresh tenant of the SCIMMY peer (.ci/peers/30-scimmy.sh),
// skipping when it is not configured, except under CI=true.
func scimmy(t *testing.T) target {
	t.Helper()
	u, tok := os.Getenv("IDSYNC_TEST_SCIM_URL"), os.Getenv("IDSYNC_TEST_SCIM_TOKEN")
	if u == "" || tok == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IDSYNC_TEST_SCIM_URL and IDSYNC_TEST_SCIM_TOKEN are not set (source .ci/peers/30-scimmy.sh)")
		}
		t.Skip("IDSYNC_TEST_SCIM_URL not set: source .ci/peers/30-scimmy.sh to run against SCIMMY")
	}
	tenant := "conn-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	return target{name: "SCIMMY", url: strings.TrimSuffix(u, "/scim/v2") + "/t/" + tenant + "/scim/v2", token: tok}
}

// ourHost starts idsync's connector host over an inmem system.
func ourHost(t *testing.T) target {
	env := hosttest.Start(t)
	return target{name: "host", url: env.URL, token: env.Token}
}

func testEnv(secret string) connector.Env {
	return connector.Env{Name: "app", Logger: discardLogger(), Now: time.Now,
		Secret: func(ref string) (string, error) {
			if ref != "SCIM_SECRET" {
				return "", fmt.Errorf("no secret %s", ref)
			}
			return secret, nil
		}}
}

func openConn(t *testing.T, tg target, edit ...func(*Config)) *conn {
	t.Helper()
	cfg := &Config{URL: tg.url, Auth: Auth{Type: "bearer", Token: connector.SecretRef{Env: "SCIM_SECRET"}}}
	for _, f := range edit {
		f(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c, err := cfg.Open(context.Background(), testEnv(tg.token))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*conn)
}

// post creates a resource by a plain HTTP request and returns its id.
func post(t *testing.T, tg target, endpoint string, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", tg.url+endpoint, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tg.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 201 {
		t.Fatalf("POST %s: %d %v", endpoint, resp.StatusCode, out)
	}
	return out["id"].(string)
}

// harness is the connectortest harness over target factory mk: each
// Seed starts a fresh server (a SCIMMY tenant, a new host).
func harness(t *testing.T, mk func(t *testing.T) target) connectortest.Harness {
	var (
		mu  sync.Mutex
		tg  target
		ids = map[string]string{}
	)
	return connectortest.Harness{
		ObjectType: "User",
		Key:        "userName",
		Attributes: []idsync.AttrDef{
			{Name: "displayName", Type: idsync.TypeString},
			{Name: "emails", Type: idsync.TypeString, MultiValued: true},
			{Name: "active", Type: idsync.TypeBoolean},
		},
		Capabilities: Type.Capabilities,
		DN: func(key string) string {
			mu.Lock()
			defer mu.Unlock()
			if id, ok := ids[key]; ok {
				return id
			}
			return key
		},
		Seed: func(t *testing.T, objs []idsync.Entry) {
			mu.Lock()
			defer mu.Unlock()
			tg = mk(t)
			ids = map[string]string{}
			for _, o := range objs {
				var emails []any
				for _, v := range o.Attrs["emails"] {
					emails = append(emails, map[string]any{"value": v.String(), "type": "work"})
				}
				body := map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": o.Attrs.Get("userName").String(), "displayName": o.Attrs.Get("displayName").String(),
					"emails": emails, "active": o.Attrs.Get("active").Boolean()}
				ids[o.Attrs.Get("userName").String()] = post(t, tg, "/Users", body)
			}
		},
		Open: func(t *testing.T) connector.Connector {
			mu.Lock()
			defer mu.Unlock()
			return openConn(t, tg)
		},
	}
}

func TestConnectorConformance_SCIMMY(t *testing.T) {
	scimmy(t)
	connectortest.Run(t, harness(t, scimmy))
}

func TestConnectorConformance_Host(t *testing.T) {
	connectortest.Run(t, harness(t, ourHost))
}

// importAll imports and returns the entries by userName (users) or
// displayName (groups).
func importAll(t *testing.T, c *conn) map[string]idsync.Entry {
	t.Helper()
	out := map[string]idsync.Entry{}
	_, err := c.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
		if e.Err != nil {
			t.Errorf("import %s: %v", e.Anchor, e.Err)
		}
		k := e.Attrs.Get("userName").String()
		if e.ObjectType == "Group" {
			k = "group:" + e.Attrs.Get("displayName").String()
		}
		out[k] = e
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return out
}

func export(t *testing.T, c *conn, changes ...idsync.Change) []connector.ExportResult {
	t.Helper()
	ctx := context.Background()
	s, err := c.OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatalf("OpenExport: %v", err)
	}
	for i := range changes {
		changes[i].ID = fmt.Sprint("cs-", i)
	}
	res, err := s.ExportPage(ctx, changes)
	if err != nil {
		t.Fatalf("ExportPage: %v", err)
	}
	s.Close(ctx)
	return res
}

func ok(t *testing.T, rs ...connector.ExportResult) {
	t.Helper()
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("export %s failed (%s): %v", r.ID, r.ErrorType, r.Err)
		}
	}
}

func refs(vs []idsync.Value) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.String())
	}
	return strings.Join(sortStrings(s), ",")
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

// fullCycle is the client's whole life against a server: users with the
// enterprise extension, a group, membership by PATCH, attribute PATCH,
// uniqueness, deletion.
func fullCycle(t *testing.T, tg target, edit ...func(*Config)) {
	c := openConn(t, tg, edit...)
	ctx := context.Background()
	sch, err := c.Schema(ctx)
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	u := sch.Class("User")
	if u == nil || sch.Class("Group") == nil {
		t.Fatalf("Schema classes %+v, want User and Group", sch.Classes)
	}
	for _, a := range []string{"userName", "name.givenName", "emails", ent + "employeeNumber", ent + "manager"} {
		if _, ok := u.Attr(a); !ok {
			t.Errorf("User class lacks %s", a)
		}
	}
	if d, _ := sch.Class("Group").Attr("members"); d.Type != idsync.TypeReference || !d.MultiValued {
		t.Errorf("Group members = %+v, want multi-valued references", d)
	}
	user := func(name, given string) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{
			"userName": {idsync.String(name)}, "name.givenName": {idsync.String(given)}, "name.familyName": {idsync.String("Test")},
			"displayName": {idsync.String(given + " Test")}, "active": {idsync.Bool(true)},
			"emails":               {idsync.String(name + "@example.com")},
			ent + "employeeNumber": {idsync.String("E-" + name)},
		})}
	}
	res := export(t, c, user("ada", "Ada"), user("bob", "Bob"), user("cy", "Cy"))
	ok(t, res...)
	ada, bob, cy := res[0].Anchor, res[1].Anchor, res[2].Anchor
	if ada == "" || ada == bob {
		t.Fatalf("anchors %q %q", ada, bob)
	}
	// Manager reference, then a group with one member.
	g := export(t, c,
		idsync.Change{Op: idsync.OpUpdate, ObjectType: "User", Anchor: bob, DN: string(bob), Mods: []idsync.AttrMod{
			{Name: ent + "manager", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.Ref(string(ada))}},
			{Name: "displayName", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Robert Test")}},
		}},
		idsync.Change{Op: idsync.OpAdd, ObjectType: "Group", Mods: idsync.ModsFromAttrs(idsync.Attrs{
			"displayName": {idsync.String("Tour Guides")}, "members": {idsync.Ref(string(ada))},
		})})
	ok(t, g...)
	gid := g[1].Anchor
	got := importAll(t, c)
	if e := got["bob"]; e.Attrs.Get("displayName").String() != "Robert Test" || e.Attrs.Get(ent+"manager").String() != string(ada) {
		t.Errorf("bob after PATCH: %v", e.Attrs)
	}
	if e := got["ada"]; e.Attrs.Get(ent+"employeeNumber").String() != "E-ada" || e.Attrs.Get("name.givenName").String() != "Ada" ||
		!e.Attrs.Get("active").Boolean() || e.Attrs.Get("emails").String() != "ada@example.com" {
		t.Errorf("ada imported as %v", e.Attrs)
	}
	if e := got["group:Tour Guides"]; e.Anchor != gid || refs(e.Attrs["members"]) != string(ada) || e.Attrs["members"][0].Type != idsync.TypeReference {
		t.Errorf("group imported as %v (anchor %s)", e.Attrs, e.Anchor)
	}
	// Membership by PATCH: add two, remove one.
	ok(t, export(t, c, idsync.Change{Op: idsync.OpUpdate, ObjectType: "Group", Anchor: gid, DN: string(gid), Mods: []idsync.AttrMod{
		{Name: "members", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.Ref(string(bob)), idsync.Ref(string(cy))}},
		{Name: "members", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.Ref(string(ada))}},
	}})...)
	got = importAll(t, c)
	if m := refs(got["group:Tour Guides"].Attrs["members"]); m != strings.Join(sortStrings([]string{string(bob), string(cy)}), ",") {
		t.Errorf("members after add/delete = %s, want bob and cy", m)
	}
	// A userName taken: AttributeValueMustBeUnique naming userName.
	dup := export(t, c, user("ADA", "Other"))
	if dup[0].ErrorType != "AttributeValueMustBeUnique" || !strings.HasPrefix(dup[0].Err.Error(), "attribute userName:") {
		t.Errorf("duplicate userName: %s %v, want AttributeValueMustBeUnique naming userName", dup[0].ErrorType, dup[0].Err)
	}
	// Clear an attribute, delete a user and the group.
	ok(t, export(t, c,
		idsync.Change{Op: idsync.OpUpdate, ObjectType: "User", Anchor: ada, DN: string(ada), Mods: []idsync.AttrMod{{Name: "displayName", Op: idsync.AttrClear}}},
		idsync.Change{Op: idsync.OpDelete, ObjectType: "User", Anchor: cy, DN: string(cy)},
		idsync.Change{Op: idsync.OpDelete, ObjectType: "Group", Anchor: gid, DN: string(gid)},
	)...)
	got = importAll(t, c)
	if _, ok := got["cy"]; ok {
		t.Errorf("cy still there after delete")
	}
	if _, ok := got["group:Tour Guides"]; ok {
		t.Errorf("group still there after delete")
	}
	if v, ok := got["ada"].Attrs["displayName"]; ok {
		t.Errorf("ada displayName after clear = %v", v)
	}
	if len(got) != 2 {
		t.Errorf("import after deletes: %d objects, want 2", len(got))
	}
}

func TestFullCycle_SCIMMY(t *testing.T) { fullCycle(t, scimmy(t)) }

// TestCustomSchema_SCIMMY: a custom extension the server declares in
// /Schemas and /ResourceTypes is discovered, typed, exported and imported.
func TestCustomSchema_SCIMMY(t *testing.T) {
	c := openConn(t, scimmy(t))
	const x = "urn:ietf:params:scim:schemas:extension:idsync:2.0:Test:"
	sch, err := c.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := sch.Class("User")
	for name, want := range map[string]idsync.AttrDef{
		x + "badgeNumber": {Type: idsync.TypeString}, x + "clearance": {Type: idsync.TypeInteger}, x + "sites": {Type: idsync.TypeString, MultiValued: true},
	} {
		if d, ok := u.Attr(name); !ok || d.Type != want.Type || d.MultiValued != want.MultiValued {
			t.Errorf("custom attribute %s = %+v (found %v), want %v", name, d, ok, want)
		}
	}
	res := export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{
		"userName": {idsync.String("custom")}, x + "badgeNumber": {idsync.String("B-7")}, x + "clearance": {idsync.Int(3)},
		x + "sites": {idsync.String("Paris"), idsync.String("Oslo")}})})
	ok(t, res...)
	ok(t, export(t, c, idsync.Change{Op: idsync.OpUpdate, ObjectType: "User", Anchor: res[0].Anchor, DN: string(res[0].Anchor), Mods: []idsync.AttrMod{
		{Name: x + "clearance", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.Int(4)}},
		{Name: x + "sites", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("Rome")}},
	}})...)
	e := importAll(t, c)["custom"]
	if e.Attrs.Get(x+"badgeNumber").String() != "B-7" || !e.Attrs.Get(x+"clearance").Equal(idsync.Int(4)) || refs(e.Attrs[x+"sites"]) != "Oslo,Paris,Rome" {
		t.Errorf("custom attributes imported as %v", e.Attrs)
	}
}

// TestFullCycle_SCIMMY_PUT updates by GET + PUT, as with a server that
// does not support PATCH.
func TestFullCycle_SCIMMY_PUT(t *testing.T) {
	fullCycle(t, scimmy(t), func(c *Config) { c.Update = "put" })
}

func TestFullCycle_Host(t *testing.T) { fullCycle(t, ourHost(t)) }

// sleeps records the waits of retries instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

// throttled wraps our host with a handler that answers the first n
// requests to /Users (it counts those) with status, as a throttling or failing server
// would. SCIMMY cannot throttle, hence this small in-test handler.
func throttled(t *testing.T, n int, status int, retryAfter string) (target, *int) {
	tg := ourHost(t)
	calls := 0
	var mu sync.Mutex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isUsers := strings.HasSuffix(r.URL.Path, "/Users")
		mu.Lock()
		if isUsers {
			calls++
		}
		c := calls
		mu.Unlock()
		if isUsers && c <= n {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","detail":"slow down"}`, status)
			return
		}
		req, _ := http.NewRequest(r.Method, tg.url+strings.TrimPrefix(r.URL.Path, "/scim/v2")+"?"+r.URL.RawQuery, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		w.Write(buf.Bytes())
	}))
	t.Cleanup(proxy.Close)
	return target{url: proxy.URL + "/scim/v2", token: tg.token}, &calls
}

func TestThrottling429HonoursRetryAfter(t *testing.T) {
	tg, _ := throttled(t, 2, 429, "7")
	var s sleeps
	c := openConn(t, tg, func(c *Config) { c.sleep = s.sleep })
	res := export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("t1")}})})
	ok(t, res...)
	if len(s.d) != 2 || s.d[0] != 7*time.Second || s.d[1] != 7*time.Second {
		t.Errorf("waits %v, want [7s 7s] (Retry-After)", s.d)
	}
	if got := importAll(t, c); got["t1"].Anchor != res[0].Anchor {
		t.Errorf("the throttled add did not land: %v", got)
	}
}

func TestRetry5xxWithBackoff(t *testing.T) {
	tg, _ := throttled(t, 3, 503, "")
	var s sleeps
	c := openConn(t, tg, func(c *Config) { c.sleep = s.sleep })
	ok(t, export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("t2")}})})...)
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if fmt.Sprint(s.d) != fmt.Sprint(want) {
		t.Errorf("waits %v, want exponential backoff %v", s.d, want)
	}
}

func TestRetriesExhaustedIsTransient(t *testing.T) {
	tg, calls := throttled(t, 1000, 503, "")
	var s sleeps
	c := openConn(t, tg, func(c *Config) { c.sleep = s.sleep; n := 2; c.MaxRetries = &n })
	if err := c.Ping(context.Background()); err != nil { // discovery is not throttled
		t.Fatal(err)
	}
	before := *calls
	sess, _ := c.OpenExport(context.Background(), connector.ExportOptions{})
	_, err := sess.ExportPage(context.Background(), []idsync.Change{{ID: "x", Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("t3")}})}})
	if idsync.KindOf(err) != idsync.KindTransient {
		t.Fatalf("ExportPage = %v (kind %v), want KindTransient", err, idsync.KindOf(err))
	}
	if n := *calls - before; n != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
	}
	// A Retry-After beyond maxRetryWait gives up at once.
	tg2, _ := throttled(t, 1000, 429, "3600")
	c2 := openConn(t, tg2, func(c *Config) { c.sleep = s.sleep; c.MaxRetryWait = time.Minute })
	c2.Ping(context.Background())
	_, err = c2.Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if idsync.KindOf(err) != idsync.KindTransient || !strings.Contains(err.Error(), "maxRetryWait") {
		t.Errorf("Import under a 1-hour Retry-After = %v, want a transient error naming maxRetryWait", err)
	}
}

// TestDeadServerIsTransient: nothing listens.
func TestDeadServerIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	var s sleeps
	c := openConn(t, target{url: u + "/scim/v2", token: "x"}, func(c *Config) { c.sleep = s.sleep })
	err := c.Ping(context.Background())
	if idsync.KindOf(err) != idsync.KindTransient {
		t.Fatalf("Ping of a dead server = %v, want KindTransient", err)
	}
}

// TestOAuth2ClientCredentials gets a token from a token endpoint (an
// in-test one: no OAuth server runs here) and uses it against our host.
func TestOAuth2ClientCredentials(t *testing.T) {
	host := ourHost(t)
	var hits int
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		id, sec, _ := r.BasicAuth()
		r.ParseForm()
		if id != "idsync" || sec != "s3cret" || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "scim.write" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, host.token)
	}))
	defer tokenSrv.Close()
	c := openConn(t, target{url: host.url, token: "s3cret"}, func(c *Config) {
		c.Auth = Auth{Type: "oauth2", TokenURL: tokenSrv.URL, ClientID: "idsync", ClientSecret: connector.SecretRef{Env: "SCIM_SECRET"}, Scopes: []string{"scim.write"}}
	})
	ok(t, export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("o1")}})})...)
	if len(importAll(t, c)) != 1 {
		t.Errorf("import after an OAuth2 add: want 1 user")
	}
	if hits != 1 {
		t.Errorf("token endpoint called %d times, want 1 (the token is cached)", hits)
	}
	// Wrong secret: a permission error that names the endpoint, not the secret.
	bad := openConn(t, target{url: host.url, token: "wrong-secret"}, func(c *Config) {
		c.Auth = Auth{Type: "oauth2", TokenURL: tokenSrv.URL, ClientID: "idsync", ClientSecret: connector.SecretRef{Env: "SCIM_SECRET"}, Scopes: []string{"scim.write"}}
	})
	err := bad.Ping(context.Background())
	if idsync.KindOf(err) != idsync.KindPermission || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("Ping with a wrong client secret = %v, want a permission error without the secret", err)
	}
}

func TestBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		if u != "idsync" || p != "pw" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/scim+json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig"):
			fmt.Fprint(w, `{"patch":{"supported":false}}`)
		default:
			fmt.Fprint(w, `{"Resources":[]}`)
		}
	}))
	defer srv.Close()
	c := openConn(t, target{url: srv.URL, token: "pw"}, func(c *Config) {
		c.Auth = Auth{Type: "basic", Username: "idsync", Password: connector.SecretRef{Env: "SCIM_SECRET"}}
	})
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping with basic auth: %v", err)
	}
	wrong := openConn(t, target{url: srv.URL, token: "nope"}, func(c *Config) {
		c.Auth = Auth{Type: "basic", Username: "idsync", Password: connector.SecretRef{Env: "SCIM_SECRET"}}
	})
	if err := wrong.Ping(context.Background()); err == nil || strings.Contains(err.Error(), "nope") {
		t.Errorf("Ping with a wrong password = %v, want an error without the password", err)
	}
}

func TestValidate(t *testing.T) {
	sec := connector.SecretRef{Env: "X"}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "https://a/scim/v2", Auth: Auth{Type: "bearer", Token: sec}}, ""},
		{Config{URL: "", Auth: Auth{Type: "bearer", Token: sec}}, "url is required"},
		{Config{URL: "ftp://a", Auth: Auth{Type: "bearer", Token: sec}}, "http:// or https://"},
		{Config{URL: "https://a", Auth: Auth{Type: "bearer"}}, "needs token"},
		{Config{URL: "https://a", Auth: Auth{Type: "oauth2", ClientID: "x", ClientSecret: sec}}, "tokenURL"},
		{Config{URL: "https://a", Auth: Auth{Type: "basic", Password: sec}}, "username"},
		{Config{URL: "https://a", Auth: Auth{Type: "kerberos"}}, "unknown type"},
		{Config{URL: "https://a", Auth: Auth{Type: "none"}, Update: "post"}, "update"},
	} {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want an error about %q", c.cfg, err, c.want)
		}
	}
}

var _ = errors.New

// TestExportPageKeepsResultsOnOutage: when the server goes away in the
// middle of a page, the changes sent keep their results and the others
// fail with error type connectivity; when it is away from the start, the
// page fails as a whole (KindTransient), so that nothing is lost.
func TestExportPageKeepsResultsOnOutage(t *testing.T) {
	host := ourHost(t)
	var mu sync.Mutex
	posts := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			mu.Lock()
			posts++
			n := posts
			mu.Unlock()
			if n > 2 {
				// The connection drops without an answer.
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
		}
		req, _ := http.NewRequest(r.Method, host.url+strings.TrimPrefix(r.URL.Path, "/scim/v2")+"?"+r.URL.RawQuery, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		w.Write(buf.Bytes())
	}))
	defer proxy.Close()
	var s sleeps
	c := openConn(t, target{url: proxy.URL + "/scim/v2", token: host.token}, func(c *Config) { c.sleep = s.sleep; c.Concurrency = 1; n := 1; c.MaxRetries = &n })
	add := func(name string) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String(name)}})}
	}
	res := export(t, c, add("a"), add("b"), add("c"), add("d"))
	if res[0].Err != nil || res[1].Err != nil || res[0].Anchor == "" {
		t.Errorf("changes sent before the outage: %+v %+v", res[0], res[1])
	}
	for _, r := range res[2:] {
		if r.ErrorType != "connectivity" || r.Err == nil {
			t.Errorf("change after the outage: %+v, want error type connectivity", r)
		}
	}
	sess, _ := c.OpenExport(context.Background(), connector.ExportOptions{})
	_, err := sess.ExportPage(context.Background(), []idsync.Change{{ID: "x", Op: idsync.OpAdd, ObjectType: "User", Mods: add("e").Mods}})
	if idsync.KindOf(err) != idsync.KindTransient {
		t.Errorf("a page that could send nothing = %v, want KindTransient", err)
	}
}

// TestRetriedCreateAdoptsItsObject: a create whose success was hidden by
// a 502 is retried, meets 409, and adopts the object it made; a 409 on a
// first attempt stays a uniqueness error.
func TestRetriedCreateAdoptsItsObject(t *testing.T) {
	host := ourHost(t)
	var mu sync.Mutex
	posts := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(r.Method, host.url+strings.TrimPrefix(r.URL.Path, "/scim/v2")+"?"+r.URL.RawQuery, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		mu.Lock()
		if r.Method == "POST" {
			posts++
		}
		first := r.Method == "POST" && posts == 1
		mu.Unlock()
		if first {
			w.WriteHeader(502) // the create happened, but the answer is lost
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(buf.Bytes())
	}))
	defer proxy.Close()
	var s sleeps
	c := openConn(t, target{url: proxy.URL + "/scim/v2", token: host.token}, func(c *Config) { c.sleep = s.sleep })
	add := idsync.Change{Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("once")}})}
	res := export(t, c, add)
	ok(t, res...)
	got := importAll(t, c)
	if len(got) != 1 || got["once"].Anchor != res[0].Anchor {
		t.Errorf("after a retried create: %d users, anchor %q vs %q", len(got), got["once"].Anchor, res[0].Anchor)
	}
	if dup := export(t, c, add); dup[0].ErrorType != "AttributeValueMustBeUnique" {
		t.Errorf("a create of an existing userName = %+v, want AttributeValueMustBeUnique", dup[0])
	}
}

// TestImportPages: a full import reads every resource once in pages of
// pageSize (startIndex/count), from the host and from SCIMMY.
func TestImportPages(t *testing.T) {
	for _, mk := range []func(*testing.T) target{ourHost, scimmy} {
		tg := mk(t)
		for i := range 7 {
			post(t, tg, "/Users", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": fmt.Sprintf("page%d", i)})
		}
		c := openConn(t, tg, func(c *Config) { c.PageSize = 2 })
		seen := map[idsync.Anchor]int{}
		_, err := c.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
			if e.ObjectType == "User" {
				seen[e.Anchor]++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 7 {
			t.Errorf("%s: imported %d users, want 7", tg.name, len(seen))
		}
		for a, n := range seen {
			if n != 1 {
				t.Errorf("%s: %s imported %d times", tg.name, a, n)
			}
		}
	}
}

func TestConflictAttr(t *testing.T) {
	rt := &resType{name: "User", byName: map[string]*attrMap{}}
	for _, m := range []*attrMap{{name: "userName", top: "userName"}, {name: "name.givenName", top: "name", sub: "givenName"},
		{name: "emails", top: "emails"}, {name: "externalId", top: "externalId"}} {
		rt.byName[strings.ToLower(m.name)] = m
	}
	ch := idsync.Change{Mods: idsync.ModsFromAttrs(idsync.Attrs{"userName": {idsync.String("a")}, "name.givenName": {idsync.String("g")},
		"emails": {idsync.String("e")}, "externalId": {idsync.String("x")}})}
	for detail, want := range map[string]string{
		"userName ADA already exists":             "userName",
		"Conflict: emails value is not unique":    "emails",
		"externalId x is used by another user":    "externalId",
		"duplicate key value violates uniqueness": "userName", // nothing named: the key
	} {
		if got := conflictAttr(rt, ch, detail); got != want {
			t.Errorf("conflictAttr(%q) = %s, want %s", detail, got, want)
		}
	}
}
