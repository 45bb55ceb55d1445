package engine

import (
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
)

// TestRuleParamsAndPrecedence: compiled rules resolve %Domain.*% and
// %Forest.*% from the connector's partitions, and evaluate expressions
// with the rule's operator precedence.
func TestRuleParamsAndPrecedence(t *testing.T) {
	reg := connector.NewRegistry(inmem.Type)
	cfg, err := config.LoadFiles(".", []config.File{{Name: "c.yaml", Data: []byte(`
metaverse: {objectTypes: [{name: person, attributes: [{name: upn, type: string}, {name: forest, type: string}, {name: n, type: integer}]}]}
connectors:
  - {name: ad, type: inmem, settings: {system: s}, partitions: ["DC=contoso,DC=com"]}
rules:
  - name: conventional
    operatorPrecedence: conventional
    direction: inbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    precedence: 1
    scope: [[{attribute: domain, operator: EQUAL, value: "%Domain.Netbios%"}]]
    flows:
      - {target: upn, expression: '[sAMAccountName] & "@" & %Domain.FQDN%'}
      - {target: forest, expression: '%Forest.LDAP%'}
      - {target: n, expression: '2 + 5 * 3'}
  - name: left-to-right
    direction: inbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    precedence: 2
    flows:
      - {target: n, expression: '2 + 5 * 3'}
`)}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := compileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	attrs := idsync.Attrs{"sAMAccountName": {idsync.String("jdoe")}, "domain": {idsync.String("CONTOSO")}}
	conv, ltr := rs.all[0], rs.all[1]
	if ok, why := conv.inScope(attrs, nil); !ok {
		t.Errorf("out of scope: %s", why)
	}
	env := &attrEnv{attrs: attrs, params: conv.params}
	want := map[string]string{"upn": "jdoe@contoso.com", "forest": "DC=contoso,DC=com", "n": "17"}
	for i := range conv.flows {
		vs, _, err := conv.flows[i].eval(env)
		if err != nil || len(vs) != 1 || vs[0].String() != want[conv.flows[i].Target] {
			t.Errorf("flow %s = %v, %v; want %s", conv.flows[i].Target, vs, err, want[conv.flows[i].Target])
		}
	}
	vs, _, err := ltr.flows[0].eval(&attrEnv{attrs: attrs, params: ltr.params})
	if err != nil || len(vs) != 1 || vs[0].String() != "21" {
		t.Errorf("left to right 2 + 5 * 3 = %v, %v; want 21", vs, err)
	}
}
