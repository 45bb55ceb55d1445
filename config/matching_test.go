package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
)

// The matching block (§12) decodes with its defaults, and overrides them.
func TestMatchingDecode(t *testing.T) {
	const rules = `
rules:
  - name: to-cloud
    direction: outbound
    connector: cloud
    csObjectType: user
    mvObjectType: person
    linkType: Provision
    precedence: 1
    flows:
      - {target: immutableId, source: employeeId}
      - {target: sourceAnchor, source: employeeId}
`
	for _, tc := range []struct {
		name, block string
		want        *config.Matching
	}{
		{"none", "", nil},
		{"defaults", "    matching: {}\n", &config.Matching{
			ImmutableIDAttribute: "immutableId", UserPrincipalNameAttribute: "userPrincipalName", ProxyAddressesAttribute: "proxyAddresses",
			Users: []string{"user", "person"}, Groups: []string{"group"}, Contacts: []string{"contact"},
		}},
		{"overrides", `    matching:
      immutableIdAttribute: sourceAnchor
      userPrincipalNameAttribute: none
      proxyAddressesAttribute: mailAddresses
      securityIdentifierAttribute: onPremisesSecurityIdentifier
      privilegedAttribute: adminRoles
      privilegedValues: [Global Administrator, Privileged Role Administrator]
      blockHardMatch: true
      blockSoftMatch: yes
      users: [user]
      groups: []
      contacts: [contact, mailUser]
`, &config.Matching{
			ImmutableIDAttribute: "sourceAnchor", ProxyAddressesAttribute: "mailAddresses",
			SecurityIdentifierAttribute: "onPremisesSecurityIdentifier", PrivilegedAttribute: "adminRoles",
			PrivilegedValues: []string{"Global Administrator", "Privileged Role Administrator"},
			BlockHardMatch:   true, BlockSoftMatch: true,
			Users: []string{"user"}, Contacts: []string{"contact", "mailUser"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := "connectors:\n  - name: cloud\n    type: fake\n    settings: {path: c.csv}\n" + tc.block
			cfg, err := config.LoadFiles(".", []config.File{
				{Name: "base.yaml", Data: []byte("metaverse:\n  objectTypes:\n    - name: person\n      attributes:\n        - {name: employeeId, type: string}\n")},
				{Name: "c.yaml", Data: []byte(conn + rules)},
			}, registry())
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Connector("cloud").Matching
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("matching (-want +got):\n%s", diff)
			}
		})
	}
}

// Kind and Privileged answer what the engine asks of the block.
func TestMatchingKindAndPrivileged(t *testing.T) {
	m := &config.Matching{Users: []string{"user"}, Groups: []string{"group"}, Contacts: []string{"contact"}, PrivilegedAttribute: "adminRoles"}
	for typ, want := range map[string]config.MatchKind{"user": config.MatchUser, "group": config.MatchGroup, "contact": config.MatchContact, "device": config.MatchNone} {
		if got := m.Kind(typ); got != want {
			t.Errorf("Kind(%q) = %s, want %s", typ, got, want)
		}
	}
	for _, tc := range []struct {
		values []string
		only   []string
		want   bool
	}{
		{nil, nil, false},
		{[]string{""}, nil, false},
		{[]string{"Helpdesk"}, nil, true},
		{[]string{"Helpdesk"}, []string{"global administrator"}, false},
		{[]string{"Helpdesk", "Global Administrator"}, []string{"global administrator"}, true},
	} {
		m.PrivilegedValues = tc.only
		a := idsync.Attrs{}
		for _, v := range tc.values {
			a["adminRoles"] = append(a["adminRoles"], idsync.String(v))
		}
		if got := m.Privileged(a); got != tc.want {
			t.Errorf("Privileged(%v) with values %v = %v, want %v", tc.values, tc.only, got, tc.want)
		}
	}
	var none *config.Matching
	if none.Kind("user") != config.MatchNone || none.Privileged(idsync.Attrs{"adminRoles": {idsync.String("x")}}) {
		t.Error("a nil Matching matches nothing")
	}
}
