package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

// TestRuleParams: the Domain.* and Forest.* parameters derive from what
// the connector's configuration says (explicit params win; a domain
// partition DN; one name from another), and Connector.ID is the name.
func TestRuleParams(t *testing.T) {
	tests := []struct {
		name       string
		params     map[string]string
		partitions []string
		want       map[string]string
	}{
		{"nothing to derive from", nil, nil, map[string]string{"Connector.ID": "ad"}},
		{"from the partition DN", nil, []string{"OU=ignored", "DC=corp,DC=contoso,DC=com"}, map[string]string{
			"Connector.ID": "ad",
			"Domain.LDAP":  "DC=corp,DC=contoso,DC=com", "Domain.FQDN": "corp.contoso.com", "Domain.Netbios": "CORP",
			"Forest.LDAP": "DC=corp,DC=contoso,DC=com", "Forest.FQDN": "corp.contoso.com", "Forest.Netbios": "CORP",
		}},
		{"from Domain.FQDN, with the forest root given", map[string]string{"Domain.FQDN": "emea.contoso.com", "Forest.FQDN": "contoso.com"}, nil, map[string]string{
			"Connector.ID": "ad",
			"Domain.LDAP":  "DC=emea,DC=contoso,DC=com", "Domain.FQDN": "emea.contoso.com", "Domain.Netbios": "EMEA",
			"Forest.LDAP": "DC=contoso,DC=com", "Forest.FQDN": "contoso.com", "Forest.Netbios": "CONTOSO",
		}},
		{"explicit values win over the partition", map[string]string{"Domain.Netbios": "CONTOSO-HQ", "Connector.ID": "{ae4db4cc}"}, []string{"DC=contoso,DC=com"}, map[string]string{
			"Connector.ID": "{ae4db4cc}",
			"Domain.LDAP":  "DC=contoso,DC=com", "Domain.FQDN": "contoso.com", "Domain.Netbios": "CONTOSO-HQ",
			"Forest.LDAP": "DC=contoso,DC=com", "Forest.FQDN": "contoso.com", "Forest.Netbios": "CONTOSO-HQ",
		}},
		{"NetBIOS names have at most 15 characters", map[string]string{"Domain.LDAP": "DC=averyveryverylongname,DC=local"}, nil, map[string]string{
			"Connector.ID": "ad",
			"Domain.LDAP":  "DC=averyveryverylongname,DC=local", "Domain.FQDN": "averyveryverylongname.local", "Domain.Netbios": "AVERYVERYVERYLO",
			"Forest.LDAP": "DC=averyveryverylongname,DC=local", "Forest.FQDN": "averyveryverylongname.local", "Forest.Netbios": "AVERYVERYVERYLO",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Connector{Name: "ad", Params: tt.params, Partitions: tt.partitions}
			if diff := cmp.Diff(tt.want, c.RuleParams()); diff != "" {
				t.Errorf("RuleParams (-want +got):\n%s", diff)
			}
		})
	}
}

const importedBase = `
metaverse: {objectTypes: [{name: person, attributes: [{name: objectSid, type: binary}, {name: cloudFiltered, type: boolean}]}]}
connectors:
  - {name: ad, type: csv, settings: {path: ad.csv, anchor: [objectGUID]}}
`

// TestImportedRuleKeys: origin and operatorPrecedence load; mvObjectType
// "*" is accepted only on a rule imported from Entra Connect; an unknown
// precedence is an error; a rule's expressions compile with its precedence.
func TestImportedRuleKeys(t *testing.T) {
	reg := connector.NewRegistry(csv.Type)
	load := func(rules string) (*config.Config, error) {
		return config.LoadFiles(".", []config.File{{Name: "c.yaml", Data: []byte(importedBase + rules)}}, reg)
	}
	cfg, err := load(`
rules:
  - name: In from AD - ForeignSecurityPrincipal Join User
    origin: {system: entra-connect, name: In from AD - ForeignSecurityPrincipal Join User, id: "{33852a9c}", connector: "{ae4db4cc}", file: fsp.xml}
    operatorPrecedence: conventional
    direction: inbound
    connector: ad
    csObjectType: foreignSecurityPrincipal
    mvObjectType: "*"
    precedence: 118
    join: [[{source: cn, target: objectSidString}]]
  - name: R
    operatorPrecedence: conventional
    direction: inbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    precedence: 1
    flows:
      - {target: cloudFiltered, expression: 'IIF(IsPresent([a]) || [b] = "x", True, NULL)'}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := &idsync.RuleOrigin{System: "entra-connect", Name: "In from AD - ForeignSecurityPrincipal Join User", ID: "{33852a9c}", Connector: "{ae4db4cc}", File: "fsp.xml"}
	if diff := cmp.Diff(want, cfg.Rules[0].Origin); diff != "" {
		t.Errorf("origin (-want +got):\n%s", diff)
	}
	if cfg.Rules[1].OperatorPrecedence != idsync.PrecedenceConventional || cfg.Program(cfg.Rules[1], 0) == nil {
		t.Errorf("rule R: precedence %q, program %v", cfg.Rules[1].OperatorPrecedence, cfg.Program(cfg.Rules[1], 0))
	}

	for _, tt := range []struct{ name, rules, want string }{
		{"* without origin", `
rules:
  - {name: FSP, direction: inbound, connector: ad, csObjectType: fsp, mvObjectType: "*", precedence: 1}
`, `mvObjectType "*" (any object type) is only supported in rules imported from Entra Connect`},
		{"unknown precedence", `
rules:
  - {name: R, operatorPrecedence: vb6, direction: inbound, connector: ad, csObjectType: user, mvObjectType: person, precedence: 1}
`, `operatorPrecedence "vb6": want left-to-right or conventional`},
		{"origin without system", `
rules:
  - {name: R, origin: {name: x}, direction: inbound, connector: ad, csObjectType: user, mvObjectType: person, precedence: 1}
`, `origin: system is required`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
