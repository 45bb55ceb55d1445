package aadc_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/aadc"
)

// allOperators is a scoping group using every operator of §7.2 once, as
// Entra Connect spells them (ISBITNOTSET is the spelling its exports use
// for ISNOTBITSET; both are carried), with values of every shape: text,
// numbers, a bit mask, a DN, a rule parameter, a list, and none.
func allOperators() (spelled []string, want idsync.ScopeGroup) {
	values := map[idsync.ScopeOp]string{
		idsync.ScopeIsNull: "", idsync.ScopeIsNotNull: "",
		idsync.ScopeIsBitSet: "2", idsync.ScopeIsNotBitSet: "512",
		idsync.ScopeLessThan: "10", idsync.ScopeLessThanOrEqual: "20", idsync.ScopeGreaterThan: "30", idsync.ScopeGreaterThanOrEqual: "40",
		idsync.ScopeIsMemberOf: "CN=Sync Users,OU=Groups,DC=contoso,DC=com", idsync.ScopeIsNotMemberOf: "CN=Blocked,OU=Groups,DC=contoso,DC=com",
		idsync.ScopeIsIn: "Employee;Contractor", idsync.ScopeIsNotIn: "Guest;Service",
		idsync.ScopeEqual: "%Connector.ID%", idsync.ScopeNotEqual: "True",
	}
	for i, op := range idsync.ScopeOps {
		v, ok := values[op]
		if !ok {
			v = fmt.Sprintf("value %d", i)
		}
		spelled = append(spelled, string(op))
		want = append(want, idsync.ScopeClause{Attr: fmt.Sprintf("attr%02d", i), Op: op, Value: v})
	}
	spelled = append(spelled, "ISBITNOTSET")
	want = append(want, idsync.ScopeClause{Attr: fmt.Sprintf("attr%02d", len(idsync.ScopeOps)), Op: idsync.ScopeIsNotBitSet, Value: "4"})
	return spelled, want
}

// TestSpec7_2_EveryScopingOperatorImportsFromEachForm: a scoping group
// holding every operator imports, operator by operator and value by value,
// from the server-configuration XML, the AADConnectDsc YAML and the
// Synchronization Rules Editor's PowerShell.
func TestSpec7_2_EveryScopingOperatorImportsFromEachForm(t *testing.T) {
	spelled, want := allOperators()

	// XML: the real 'In from AD - User Join' with its scoping replaced.
	var x strings.Builder
	x.WriteString("<synchronizationCriteria>\n    <conditions>\n")
	for i, c := range want {
		if c.Value == "" {
			fmt.Fprintf(&x, "      <scope>\n        <csAttribute>%s</csAttribute>\n        <csOperator>%s</csOperator>\n        <csValue />\n      </scope>\n", c.Attr, spelled[i])
			continue
		}
		fmt.Fprintf(&x, "      <scope>\n        <csAttribute>%s</csAttribute>\n        <csOperator>%s</csOperator>\n        <csValue>%s</csValue>\n      </scope>\n", c.Attr, spelled[i], c.Value)
	}
	x.WriteString("    </conditions>\n  </synchronizationCriteria>")
	xmlRule := regexp.MustCompile(`(?s)<synchronizationCriteria>.*</synchronizationCriteria>`).ReplaceAllLiteralString(string(readRule(t, userJoinID)), x.String())

	// PowerShell: the editor's export of 'In from AD - User AccountEnabled'
	// with its scope condition group replaced.
	ps, err := os.ReadFile("testdata/ps/in-from-ad-user-accountenabled.ps1")
	if err != nil {
		t.Fatal(err)
	}
	var p strings.Builder
	var refs []string
	for i, c := range want {
		fmt.Fprintf(&p, "New-Object  `\n-TypeName 'Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition' `\n-ArgumentList '%s','%s','%s' `\n-OutVariable condition%d\n\n", c.Attr, c.Value, spelled[i], i)
		refs = append(refs, fmt.Sprintf("$condition%d[0]", i))
	}
	fmt.Fprintf(&p, "Add-ADSyncScopeConditionGroup  `\n-SynchronizationRule $rule `\n-ScopeConditions @(%s)\n\n$rule | Add-ADSyncRule", strings.Join(refs, ","))
	psRule := regexp.MustCompile(`(?s)New-Object .*\$rule \| Add-ADSyncRule`).ReplaceAllLiteralString(string(ps), p.String())

	// AADConnectDsc YAML.
	var d strings.Builder
	d.WriteString("Items:\n  - Name: Every operator\n    ConnectorName: contoso.com\n    Direction: Inbound\n    SourceObjectType: user\n    TargetObjectType: person\n    Precedence: 150\n    LinkType: Join\n    ScopeFilter:\n      - ScopeConditionList:\n")
	for i, c := range want {
		fmt.Fprintf(&d, "          - Attribute: %s\n            ComparisonValue: '%s'\n            ComparisonOperator: %s\n", c.Attr, c.Value, spelled[i])
	}

	for _, f := range []aadc.File{
		{Name: "every-operator.xml", Data: []byte(xmlRule)},
		{Name: "every-operator.ps1", Data: []byte(psRule)},
		{Name: "every-operator.yml", Data: []byte(d.String())},
	} {
		t.Run(f.Name, func(t *testing.T) {
			res := aadc.Import([]aadc.File{f}, aadc.Options{ConnectorMap: map[string]string{adGUID: "ad", "contoso.com": "ad"}})
			for _, p := range res.Problems {
				t.Errorf("problem: %s", p)
			}
			if len(res.Rules) != 1 {
				t.Fatalf("imported %d rules, want 1", len(res.Rules))
			}
			r := res.Rules[0]
			if len(r.Scope) != 1 {
				t.Fatalf("%d scoping groups, want 1: %+v", len(r.Scope), r.Scope)
			}
			if diff := cmp.Diff(want, r.Scope[0]); diff != "" {
				t.Errorf("scoping group (-want +got):\n%s", diff)
			}
			if !strings.Contains(res.Summary(), fmt.Sprintf("%d scope conditions", len(want))) {
				t.Errorf("summary %q does not count %d scope conditions", res.Summary(), len(want))
			}
			// What is written carries every operator too.
			y, err := aadc.RuleYAML(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range want {
				if !strings.Contains(string(y), string(c.Op)) {
					t.Errorf("the rule file written lacks operator %s:\n%s", c.Op, y)
				}
			}
		})
	}
}
