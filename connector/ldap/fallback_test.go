package ldap

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
)

// TestSpec9_2_ExpiredWatermarkFallsBackThroughEngine runs each delta
// mechanism through the engine against the real servers: a full import,
// changes in the directory (an add and a delete), then the stored
// watermark made one the server cannot honour — a DirSync cookie the DC
// refuses, a USN ahead of the DC (a restore from backup), an accesslog
// position older than the log (purged), a syncrepl cookie older than the
// session log. The delta-import run falls back to a full import: it
// completes with warnings, one of them naming the fallback, and the
// connector space holds exactly the directory's objects. The watermark the
// fallback stored then serves the next delta import, which succeeds
// without warnings.
func TestSpec9_2_ExpiredWatermarkFallsBackThroughEngine(t *testing.T) {
	cases := []struct {
		prefix, mech string
		expire       func(pos []byte) []byte
	}{
		{"AD", DeltaDirSync, func([]byte) []byte { return []byte("not a DirSync cookie") }},
		{"AD", DeltaUSNChanged, func(pos []byte) []byte {
			usn, dsa, _ := strings.Cut(string(pos), "|")
			n, _ := strconv.ParseInt(usn, 10, 64)
			return []byte(strconv.FormatInt(n+1_000_000_000, 10) + "|" + dsa)
		}},
		{"LDAP", DeltaAccesslog, func([]byte) []byte { return []byte("19900101000000.000000Z") }},
		{"LDAP", DeltaSyncrepl, func([]byte) []byte { return []byte("rid=000,csn=19900101000000.000000Z#000000#000#000000") }},
	}
	for _, tc := range cases {
		t.Run(tc.mech, func(t *testing.T) {
			s := need(t, tc.prefix)
			l := s.admin(t)
			ou := s.testOU(t, l, "expire-"+tc.mech)
			var dns []string
			var classes map[string]string
			addUser := func(i int) {
				t.Helper()
				if s.flavour == ServerAD {
					sam := fmt.Sprintf("x%s%d", rdnValue(ou)[len("expire-"+tc.mech)+1:], i)
					sam = strings.ReplaceAll(sam, "-", "")
					dns = append(dns, fmt.Sprintf("CN=x%d,%s", i, ou))
					add(t, l, dns[len(dns)-1], adUser(sam))
					return
				}
				dns = append(dns, fmt.Sprintf("uid=x%d,%s", i, ou))
				add(t, l, dns[len(dns)-1], person(fmt.Sprintf("x%d", i)))
			}
			if s.flavour == ServerAD {
				classes = map[string]string{"user": "user"}
			} else {
				classes = map[string]string{"person": "inetOrgPerson"}
			}
			addUser(1)
			addUser(2)
			r := newRig(t, s, tc.mech, classes, ou)
			if res := r.run("full-import"); res.Status != idsync.StatusSuccess {
				t.Fatalf("full import: %s %s", res.Status, res.Message)
			}
			if got := len(r.objects()); got != 2 {
				t.Fatalf("after the full import the connector space holds %d objects, want 2", got)
			}
			addUser(3)
			if err := l.Del(goldap.NewDelRequest(dns[0], nil)); err != nil {
				t.Fatal(err)
			}
			w := r.watermark()
			if w.Mech != tc.mech || len(w.Parts) != 1 {
				t.Fatalf("stored watermark %+v, want one partition of %s", w, tc.mech)
			}
			for k, pos := range w.Parts {
				w.Parts[k] = tc.expire(pos)
			}
			r.setWatermark(w)

			res := r.run("delta-import")
			if res.Status != idsync.StatusCompletedWithWarnings {
				t.Errorf("delta import from an expired watermark: status %s (%s), want %s", res.Status, res.Message, idsync.StatusCompletedWithWarnings)
			}
			ws := warnings(res)
			warned := false
			for _, x := range ws {
				if strings.Contains(x, "falling back to a full import") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning about the fallback to a full import: %q", ws)
			}
			wantDNs := func(step string, want ...string) {
				t.Helper()
				got, exp := map[string]bool{}, map[string]bool{}
				for _, o := range r.objects() {
					got[strings.ToLower(o.DN)] = true
				}
				for _, d := range want {
					exp[strings.ToLower(d)] = true
				}
				if fmt.Sprint(got) != fmt.Sprint(exp) {
					t.Errorf("after %s the connector space holds %v, want %v", step, got, exp)
				}
			}
			wantDNs("the fallback full import", dns[1], dns[2])

			addUser(4)
			res = r.run("delta-import")
			if res.Status != idsync.StatusSuccess || len(warnings(res)) > 0 {
				t.Errorf("delta import from the fallback's watermark: status %s (%s), warnings %q, want success", res.Status, res.Message, warnings(res))
			}
			wantDNs("the next delta import", dns[1], dns[2], dns[3])
		})
	}
}
