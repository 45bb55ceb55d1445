package entraconnect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	encsv "encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/aadc"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

const defaultRules = "../../../shared/testdata/aadc/default-rules-2016"

// The connector map the example's rules were imported with.
var connectorMap = map[string]string{
	"ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d": "ad",
	"b891884f-051e-4a83-95af-2544101c9083": "aad",
}

// TestImportedRulesAreCurrent: rules/ and metaverse.yaml are exactly what
// `idsync rules import-aadc` makes of the default rule set today.
func TestImportedRulesAreCurrent(t *testing.T) {
	files, err := aadc.ReadPaths([]string{defaultRules})
	if err != nil {
		t.Fatal(err)
	}
	res := aadc.Import(files, aadc.Options{ConnectorMap: connectorMap})
	if len(res.Problems) > 0 || len(res.Rules) != 62 {
		t.Fatalf("import: %s: %v", res.Summary(), res.Problems)
	}
	dir := t.TempDir()
	written, err := res.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob("rules/*.yaml")
	if len(committed) != 62 {
		t.Errorf("rules/ holds %d files, want 62", len(committed))
	}
	for _, p := range written {
		rel, _ := filepath.Rel(dir, p)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// The command ran from the repository root.
		got = bytes.ReplaceAll(got, []byte("file: "+defaultRules), []byte("file: ../shared/testdata/aadc/default-rules-2016"))
		want, err := os.ReadFile(rel)
		if err != nil {
			t.Errorf("%s: %v (re-run the import command of idsync.yaml)", rel, err)
			continue
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s differs from a fresh import (-committed +fresh):\n%s", rel, diff)
		}
	}
}

// copyExample copies the example's configuration and data to a temporary
// directory.
func copyExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("rules/*.yaml")
	paths = append(paths, "idsync.yaml", "metaverse.yaml", "ad.csv", "aad.csv")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSpec7_EntraConnectDefaultRules runs the example: the AD users go
// through Entra Connect's imported default rules ('In from AD - User
// Join', '- User AccountEnabled', '- User Common', 'Out to AAD - User
// Join', '- User Identity', ...) into the cloud stand-in, and the cloud
// receives exactly what Entra Connect sends: sourceAnchor is the Base64 of
// objectGUID, accountEnabled follows bit 2 of userAccountControl, a user
// without userPrincipalName gets sAMAccountName@%Domain.FQDN%, the sync
// service account (MSOL_) is cloudFiltered and a critical system object
// (krbtgt) is out of scope altogether.
func TestSpec7_EntraConnectDefaultRules(t *testing.T) {
	ctx := context.Background()
	dir := copyExample(t)
	reg := connector.NewRegistry(csv.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ conn, profile string }{
		{"ad", "full-import"}, {"ad", "full-sync"}, {"aad", "export"}, {"aad", "full-import"}, {"aad", "full-sync"}, {"aad", "export"},
	} {
		res, err := e.Run(ctx, step.conn, step.profile)
		if err != nil {
			t.Fatalf("run %s %s: %v", step.conn, step.profile, err)
		}
		if res.Status != idsync.StatusSuccess {
			t.Fatalf("run %s %s: %s: %+v", step.conn, step.profile, res.Status, res.Errors)
		}
	}

	cloud := readCSV(t, filepath.Join(dir, "aad.csv"))
	guid := func(adRow string) string { return adColumn(t, adRow, "objectGUID") }
	sid := func(adRow string) string { return adColumn(t, adRow, "objectSid") }
	dnOf := func(anchor string) string {
		// "CN={" & ConvertToUTF8Hex([sourceAnchor]) & "}"
		return "CN={" + strings.ToUpper(hexOf(anchor)) + "}"
	}
	bob := guid("bstone")
	want := map[string]map[string]string{
		bob: {
			"cloudDN": dnOf(bob), "userPrincipalName": "bob.stone@contoso.com", "accountEnabled": "True",
			"displayName": "Bob Stone", "givenName": "Bob", "surname": "Stone", "mail": "bob.stone@contoso.com",
			"proxyAddresses": "SMTP:bob.stone@contoso.com;smtp:bob@contoso.com", "department": "Sales",
			"onPremiseSecurityIdentifier": sid("bstone"), "onPremisesSamAccountName": "bstone",
			"dnsDomainName": "contoso.com", "netBiosName": "CONTOSO", "lastPasswordChangeTimestamp": "20241230024000.0Z",
		},
		guid("alee"): {
			"cloudDN": dnOf(guid("alee")), "userPrincipalName": "ann.lee@contoso.com", "accountEnabled": "True",
			"displayName": "Ann Lee", "givenName": "Ann", "surname": "Lee", "mail": "ann.lee@contoso.com",
			"proxyAddresses": "SMTP:ann.lee@contoso.com;smtp:ann@contoso.com", "department": "Sales",
			"manager": dnOf(bob), "onPremiseSecurityIdentifier": sid("alee"), "onPremisesSamAccountName": "alee",
			"dnsDomainName": "contoso.com", "netBiosName": "CONTOSO", "lastPasswordChangeTimestamp": "20250113093607.0Z",
		},
		// Disabled: userAccountControl 514 has bit 2 set.
		guid("cdiaz"): {
			"cloudDN": dnOf(guid("cdiaz")), "userPrincipalName": "carl.diaz@contoso.com", "accountEnabled": "False",
			"displayName": "Carl Diaz", "givenName": "Carl", "surname": "Diaz", "mail": "carl.diaz@contoso.com",
			"proxyAddresses": "SMTP:carl.diaz@contoso.com", "department": "Finance",
			"manager": dnOf(bob), "onPremiseSecurityIdentifier": sid("cdiaz"), "onPremisesSamAccountName": "cdiaz",
			"dnsDomainName": "contoso.com", "netBiosName": "CONTOSO", "lastPasswordChangeTimestamp": "20240905085320.0Z",
		},
		// No userPrincipalName: sAMAccountName@%Domain.FQDN%, the domain
		// derived from the connector's partition.
		guid("dkim"): {
			"cloudDN": dnOf(guid("dkim")), "userPrincipalName": "dkim@contoso.com", "accountEnabled": "True",
			"displayName": "Dana Kim", "givenName": "Dana", "surname": "Kim", "department": "Engineering",
			"manager": dnOf(bob), "onPremiseSecurityIdentifier": sid("dkim"), "onPremisesSamAccountName": "dkim",
			"dnsDomainName": "contoso.com", "netBiosName": "CONTOSO",
		},
	}
	if diff := cmp.Diff(want, cloud); diff != "" {
		t.Errorf("aad.csv (-want +got):\n%s", diff)
	}
	// sourceAnchor is the Base64 of the objectGUID bytes.
	raw, err := base64.StdEncoding.DecodeString(bob)
	if err != nil || len(raw) != 16 {
		t.Errorf("sourceAnchor %q is not the Base64 of a GUID", bob)
	}

	// In the metaverse: the MSOL_ account is cloudFiltered (and so in no
	// Out to AAD rule's scope); krbtgt was never projected.
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	people, err := tx.ListMV(ctx, store.MVFilter{ObjectType: "person"})
	if err != nil {
		t.Fatal(err)
	}
	filtered := map[string]string{}
	for _, p := range people {
		name := first(p.Attrs["accountName"])
		filtered[name] = first(p.Attrs["cloudFiltered"])
	}
	wantMV := map[string]string{"bstone": "", "alee": "", "cdiaz": "", "dkim": "", "MSOL_0123abcd4567": "True"}
	if diff := cmp.Diff(wantMV, filtered); diff != "" {
		t.Errorf("metaverse people: accountName → cloudFiltered (-want +got):\n%s", diff)
	}
}

func first(vs []idsync.Value) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0].String()
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

// readCSV returns the rows of a CSV file keyed by their first column,
// each as its non-empty cells.
func readCSV(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := encsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, v := range r[1:] {
			if v != "" {
				m[rows[0][i+1]] = v
			}
		}
		out[r[0]] = m
	}
	return out
}

// adColumn returns column col of the ad.csv row of sAMAccountName sam.
func adColumn(t *testing.T, sam, col string) string {
	t.Helper()
	f, err := os.Open("ad.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := encsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, h := range rows[0] {
		idx[h] = i
	}
	for _, r := range rows[1:] {
		if r[idx["sAMAccountName"]] == sam {
			return r[idx[col]]
		}
	}
	t.Fatalf("ad.csv has no %s", sam)
	return ""
}
