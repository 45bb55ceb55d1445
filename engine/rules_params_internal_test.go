package engine

import (
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/expr"
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

// TestDNAttribute: inbound rules read the connector space object's DN as
// [dn], in expressions and Direct flows, as Entra Connect's default rules
// do ("In from AD - User Common" flows dn to distinguishedName); an
// imported attribute named dn wins.
func TestDNAttribute(t *testing.T) {
	env := &attrEnv{attrs: idsync.Attrs{"cn": {idsync.String("x")}}, dn: "CN=x,DC=contoso,DC=com"}
	direct := compiledFlow{Flow: idsync.Flow{Type: idsync.FlowDirect, Source: "dn", Target: "distinguishedName"}}
	vs, _, err := direct.eval(env)
	if err != nil || len(vs) != 1 || vs[0].String() != "CN=x,DC=contoso,DC=com" {
		t.Errorf("Direct dn = %v, %v", vs, err)
	}
	p, err := expr.Compile(`DNComponent(CRef([dn]),1)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Eval(env)
	if err != nil || len(res.Values) != 1 || res.Values[0].String() != "x" {
		t.Errorf("DNComponent(CRef([dn]),1) = %v, %v", res.Values, err)
	}
	env.attrs["dn"] = []idsync.Value{idsync.String("imported")}
	if vs := env.Attr("dn"); len(vs) != 1 || vs[0].String() != "imported" {
		t.Errorf("Attr(dn) with an imported dn = %v", vs)
	}
}

// TestImportedEmptyText: an expression of a rule imported from Entra
// Connect that yields empty text flows nothing (Left(Trim([info]),448) on
// an object without info), as in the reference's metaverse; idsync's own
// rules keep the empty string.
func TestImportedEmptyText(t *testing.T) {
	p, err := expr.Compile(`Left(Trim([info]),448)`, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := &attrEnv{attrs: idsync.Attrs{}}
	for _, tt := range []struct {
		dropEmpty bool
		want      flowOutcome
	}{{true, outNull}, {false, outValue}} {
		f := compiledFlow{Flow: idsync.Flow{Type: idsync.FlowExpression, Target: "info"}, prog: p, dropEmpty: tt.dropEmpty}
		vs, out, err := f.eval(env)
		if err != nil || out != tt.want {
			t.Errorf("dropEmpty %v: %v %v %v, want outcome %v", tt.dropEmpty, vs, outcomeNames[out], err, outcomeNames[tt.want])
		}
	}
	if got := dropEmptyText([]idsync.Value{idsync.String("a"), idsync.String(""), idsync.String("b")}); len(got) != 2 || got[1].Str != "b" {
		t.Errorf("dropEmptyText = %v", got)
	}
}
