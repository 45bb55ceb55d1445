package host_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/host"
	"github.com/idsync/idsync/host/hosttest"
)

func call(t *testing.T, env *hosttest.Env, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid}}}]", ""},
		{"endpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid}}}]", "bearer token is required"},
		{"token: {env: T}\nendpoints: []", "at least one connector"},
		{"token: {env: T}\nendpoints: [{connector: a}]", "map users, groups or both"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {displayName: x}}}]", "userName must be mapped"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid, displayName: uid}}}]", "both map to uid"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid, 'emails[type eq \"work\"]': m}}}]", "needs a sub-attribute"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid, 'emails[type co \"w\"].value': m}}}]", "eq comparisons"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid, id: x}}}]", "id is the anchor"},
		{"token: {env: T}\nendpoints: [{connector: a, users: {objectType: p, dn: 'cn={uid', attributes: {userName: uid}}}]", "dn:"},
		{"token: {env: T}\ntls: {cert: a.pem}\nendpoints: [{connector: a, users: {objectType: p, attributes: {userName: uid}}}]", "both cert and key"},
		{"token: {env: T}\nlisten: x\nbogus: 1\nendpoints: []", "field bogus not found"},
		{"token: 'literal'\nendpoints: []", "environment-variable reference"},
	} {
		p := filepath.Join(t.TempDir(), "host.yaml")
		os.WriteFile(p, []byte(c.yaml), 0o644)
		_, err := host.LoadConfig(p)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error about %q", c.yaml, err, c.want)
		case err != nil && !strings.Contains(err.Error(), p):
			t.Errorf("error %v does not name the file", err)
		}
	}
}

// TestSpec11_RefreshByDeltaImport: a change made in the system reaches
// the host's answers with the next refresh (a delta import).
func TestSpec11_RefreshByDeltaImport(t *testing.T) {
	env := hosttest.Start(t)
	if _, err := env.System.Add(idsync.Entry{ObjectType: "person", DN: "uid=eve,ou=users,dc=example", Attrs: idsync.Attrs{
		"uid": {idsync.String("eve")}, "mail": {idsync.String("eve@example.com")}}}); err != nil {
		t.Fatal(err)
	}
	q := "/Users?" + url.Values{"filter": {`emails[type eq "work" and value eq "EVE@example.com"]`}}.Encode()
	if _, lr := call(t, env, "GET", q, ""); lr["totalResults"] != float64(0) {
		t.Fatalf("before the refresh: %v", lr)
	}
	env.Refresh(t)
	if _, lr := call(t, env, "GET", q, ""); lr["totalResults"] != float64(1) {
		t.Errorf("after the refresh: %v", lr)
	}
}

// TestConnectorRefusals: the connector's export errors become SCIM errors.
func TestConnectorRefusals(t *testing.T) {
	env := hosttest.Start(t)
	env.System.FailExport(func(ch idsync.Change) bool {
		return idsync.Attrs{}.Apply(ch.Mods).Get("mail").String() == "taken@example.com"
	},
		"AttributeValueMustBeUnique", errors.New("mail taken@example.com is used by another object"))
	st, e := call(t, env, "POST", "/Users", `{"userName":"x1","emails":[{"type":"work","value":"taken@example.com"}]}`)
	if st != 409 || e["scimType"] != "uniqueness" || !strings.Contains(e["detail"].(string), "AttributeValueMustBeUnique") {
		t.Errorf("refused add: %d %v, want 409 uniqueness naming the error type", st, e)
	}
	// Two groups with one name: the DN template makes the same DN.
	if st, _ := call(t, env, "POST", "/Groups", `{"displayName":"g"}`); st != 201 {
		t.Fatalf("group: %d", st)
	}
	if st, e := call(t, env, "POST", "/Groups", `{"displayName":"g"}`); st != 409 {
		t.Errorf("second group with the same DN: %d %v, want 409", st, e)
	}
	if st, e := call(t, env, "POST", "/Users", `{"displayName":"no userName"}`); st != 400 || e["scimType"] != "invalidValue" {
		t.Errorf("user without userName: %d %v", st, e)
	}
	if st, e := call(t, env, "POST", "/Users", `{not json`); st != 400 || e["scimType"] != "invalidSyntax" {
		t.Errorf("malformed body: %d %v", st, e)
	}
	if st, e := call(t, env, "POST", "/Groups", `{"displayName":"h","members":[{"value":"no-such-user"}]}`); st != 400 || e["scimType"] != "invalidValue" {
		t.Errorf("unknown member: %d %v", st, e)
	}
	if st, _ := call(t, env, "GET", "/Bogus", ""); st != 404 {
		t.Errorf("unknown resource type: %d", st)
	}
}

// TestMembersValueLevel: for a connector of export type AttributeUpdate,
// a membership PATCH exports the added and removed members, not the list.
func TestMembersValueLevel(t *testing.T) {
	env := hosttest.Start(t)
	var ids []string
	for _, u := range []string{"m1", "m2", "m3"} {
		_, r := call(t, env, "POST", "/Users", `{"userName":"`+u+`"}`)
		ids = append(ids, r["id"].(string))
	}
	_, g := call(t, env, "POST", "/Groups", `{"displayName":"team","members":[{"value":"`+ids[0]+`"},{"value":"`+ids[1]+`"}]}`)
	env.System.ResetExported()
	st, _ := call(t, env, "PATCH", "/Groups/"+g["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"add","path":"members","value":[{"value":"`+ids[2]+`"}]},{"op":"remove","path":"members[value eq \"`+ids[0]+`\"]"}]}`)
	if st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	ex := env.System.Exported()
	if len(ex) != 1 {
		t.Fatalf("exported %d changes, want 1", len(ex))
	}
	var ops []string
	for _, m := range ex[0].Mods {
		ops = append(ops, m.Name+" "+m.Op.String()+" "+m.Values[0].String())
	}
	want := "member add uid=m3,ou=users,dc=example|member delete uid=m1,ou=users,dc=example"
	if strings.Join(ops, "|") != want {
		t.Errorf("exported mods %v, want %s", ops, want)
	}
}

func TestSearchAndAttributes(t *testing.T) {
	env := hosttest.Start(t)
	call(t, env, "POST", "/Users", `{"userName":"s1","displayName":"Search One","title":"T"}`)
	st, lr := call(t, env, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"displayName sw \"search\"","attributes":["userName"]}`)
	if st != 200 || lr["totalResults"] != float64(1) {
		t.Fatalf("/.search: %d %v", st, lr)
	}
	r := lr["Resources"].([]any)[0].(map[string]any)
	if r["userName"] != "s1" || r["title"] != nil || r["id"] == nil {
		t.Errorf("attributes=userName returned %v", r)
	}
	_, lr = call(t, env, "GET", "/Users?excludedAttributes=title", "")
	if r := lr["Resources"].([]any)[0].(map[string]any); r["title"] != nil || r["displayName"] != "Search One" {
		t.Errorf("excludedAttributes=title returned %v", r)
	}
	if st, e := call(t, env, "GET", "/Users?startIndex=x", ""); st != 400 || e["scimType"] != "invalidValue" {
		t.Errorf("bad startIndex: %d %v", st, e)
	}
}

// TestServeTLS serves HTTPS with the configured certificate.
func TestServeTLS(t *testing.T) {
	env := hosttest.Start(t)
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "server.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "server.key"), keyPEM, 0o600)
	p := filepath.Join(dir, "host.yaml")
	os.WriteFile(p, []byte(strings.Replace(hosttest.HostYAML, "refresh: 0s", "refresh: 0s\ntls: {cert: server.crt, key: server.key}", 1)), 0o644)
	hc, err := host.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	// A second host on the same store needs the connector lock: release the first.
	env.Server.Close(context.Background())
	srv, err := host.New(context.Background(), host.Options{Config: hc, Engine: env.Engine, Store: env.Store, Secret: func(string) (string, error) { return "tls-token", nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+l.Addr().String()+"/scim/v2/ServiceProviderConfig", nil)
	req.Header.Set("Authorization", "Bearer tls-token")
	var resp *http.Response
	for i := 0; i < 50; i++ {
		if resp, err = cl.Do(req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(m["meta"].(map[string]any)["location"].(string), "https://") {
		t.Errorf("HTTPS answer %d %v", resp.StatusCode, m["meta"])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func selfSigned(t *testing.T) ([]byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// TestConcurrentCreatesOfOneUserName: of several clients creating one
// userName in different cases at once, exactly one succeeds and the
// others get 409 — over the CSV connector, whose anchor is the userName
// as given, so that only the host's uniqueness check stands between them.
func TestConcurrentCreatesOfOneUserName(t *testing.T) {
	base, file, _ := csvHost(t, copyCSVHost(t))
	names := []string{"race@example.com", "Race@example.com", "RACE@example.com", "rAce@example.com", "raCe@example.com", "racE@example.com"}
	codes := make(chan int, len(names))
	for _, n := range names {
		go func() {
			req, _ := http.NewRequest("POST", base+"/Users", strings.NewReader(`{"userName":"`+n+`"}`))
			req.Header.Set("Authorization", "Bearer entra-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for range names {
		got[<-codes]++
	}
	if got[201] != 1 || got[409] != len(names)-1 {
		t.Errorf("status counts %v, want one 201 and %d 409", got, len(names)-1)
	}
	b, _ := os.ReadFile(file)
	if n := strings.Count(strings.ToLower(string(b)), "\nrace@example.com,"); n != 1 {
		t.Errorf("the CSV file holds %d rows for the userName, want 1", n)
	}
}
