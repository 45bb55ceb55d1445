package aadc_test

import (
	"github.com/google/go-cmp/cmp"
	"os"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/aadc"
	"github.com/idsync/idsync/expr"
)

func readRule(t *testing.T, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(defaultRules + "/SynchronizationRule_{" + id + "}.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const userJoinID = "0b088913-b613-4d9d-9563-9988b7719ed6"

// TestBadInput: a file of none of the three forms, and a rule using a
// construct idsync cannot carry, are problems naming the file and the
// element; the other rules still convert.
func TestBadInput(t *testing.T) {
	good := readRule(t, userJoinID)
	tests := []struct {
		name, file, data string
		want             []string // substrings of the one problem
		rules            int      // rules converted besides good.xml's
	}{
		{"not a rule file", "notes.txt", "hello, world\n", []string{"notes.txt", "not an Entra Connect sync rule file"}, 0},
		{"other XML", "other.xml", "<config><x/></config>", []string{"other.xml", "not an Entra Connect sync rule file"}, 0},
		{"malformed XML", "broken.xml", "<synchronizationRule><name>x</name>", []string{"broken.xml", "malformed XML"}, 0},
		{"unknown scope operator", "op.xml", strings.Replace(string(good), "<csOperator>NOTEQUAL</csOperator>", "<csOperator>MATCHES</csOperator>", 1),
			[]string{"op.xml", "<scope> (line", `rule "In from AD - User Join"`, `unknown scoping operator "MATCHES"`}, 0},
		{"unknown element", "elem.xml", strings.Replace(string(good), "<linkType>", "<provisioningPolicy>x</provisioningPolicy><linkType>", 1),
			[]string{"elem.xml", "<provisioningPolicy> (line 13)", "unknown element"}, 0},
		{"soft delete", "soft.xml", strings.Replace(string(good), "<softDeleteExpiryInterval>00:00:00<", "<softDeleteExpiryInterval>1.00:00:00<", 1),
			[]string{"soft.xml", "<softDeleteExpiryInterval>", "soft-delete expiry interval (1.00:00:00)"}, 0},
		{"expression that does not compile", "expr.xml", strings.Replace(string(good), "IIF(IsPresent([isCriticalSystemObject])", "IIF(NoSuchFunction([isCriticalSystemObject])", 1),
			[]string{"expr.xml", "mapping 1 (destination cloudFiltered)", "NoSuchFunction"}, 0},
		{"DSC unknown key", "rules.yml", "Items:\n  - Name: R\n    ConnectorName: c\n    Direction: Inbound\n    SourceObjectType: user\n    TargetObjectType: person\n    Precedence: 5\n    Tranform: x\n",
			[]string{"rules.yml", "Items[0].Tranform (line 8)", "unknown key"}, 0},
		{"DSC bad flow type", "rules.yml", "Items:\n  - Name: R\n    ConnectorName: c\n    Direction: Inbound\n    SourceObjectType: user\n    TargetObjectType: person\n    Precedence: 5\n    AttributeFlowMappings:\n      - {Source: a, Destination: b, FlowType: Script}\n",
			[]string{"rules.yml", "AttributeFlowMappings[0] (line 9)", `unknown flow type "Script"`}, 0},
		{"PowerShell unknown command", "x.ps1", "New-ADSyncRule -Name 'R' -Direction 'Inbound' -Precedence 5 -SourceObjectType 'user' -TargetObjectType 'person' -Connector 'c' -LinkType 'Join' -OutVariable syncRule\nSet-ADSyncScheduler -SyncCycleEnabled $true\nAdd-ADSyncRule -SynchronizationRule $syncRule[0]\n",
			[]string{"x.ps1", "line 2", "unsupported command Set-ADSyncScheduler"}, 1},
		{"PowerShell rule never added", "y.ps1", "New-ADSyncRule -Name 'R' -Direction 'Inbound' -Precedence 5 -SourceObjectType 'user' -TargetObjectType 'person' -Connector 'c' -OutVariable syncRule\n",
			[]string{"y.ps1", "line 1", `rule "R"`, "no Add-ADSyncRule"}, 0},
		{"PowerShell expansion", "z.ps1", "New-ADSyncRule -Name \"Rule $env:COMPUTERNAME\" -Direction 'Inbound' -Precedence 5 -OutVariable syncRule\n",
			[]string{"z.ps1", "line 1", "expands a variable"}, 0},
		{"PowerShell without a rule", "c.ps1", "# New-ADSyncRule is only mentioned here\nGet-ADSyncRule\n",
			[]string{"c.ps1", "no sync rule in this PowerShell file"}, 0},
		{"DSC without a rule", "e.yml", "Items:\n  - Name: x\n    Direction: Inbound\n    ConnectorName: c\n    SourceObjectType: user\n    TargetObjectType: person\n    Precedence: 1\n    Ensure: Absent\n",
			[]string{"e.yml", "Items[0].Ensure (line 8)", "Ensure: Absent"}, 0},
		{"PowerShell unknown parameter", "w.ps1", "New-ADSyncRule -Name 'R' -Direction 'Inbound' -Precedence 5 -SourceObjectType 'user' -TargetObjectType 'person' -Connector 'c' -Frobnicate 'x' -OutVariable syncRule\n",
			[]string{"w.ps1", "line 1", "unknown parameter -frobnicate"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := aadc.Import([]aadc.File{{Name: "good.xml", Data: good}, {Name: tt.file, Data: []byte(tt.data)}}, defaultMap)
			if len(res.Problems) != 1 {
				t.Fatalf("problems = %v, want exactly one", res.Problems)
			}
			got := res.Problems[0].String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problem %q does not contain %q", got, w)
				}
			}
			// The good rule still converts; the bad one does not (a
			// statement the importer skips leaves its rule intact).
			if len(res.Rules) != 1+tt.rules || res.Rules[len(res.Rules)-1].Origin.File != "good.xml" {
				t.Errorf("converted %d rules, want good.xml's and %d", len(res.Rules), tt.rules)
			}
		})
	}
}

// TestUniqueNames: the same default rule for two forests keeps its name in
// origin.name and gets the connector appended; a repeated precedence is a
// problem.
func TestUniqueNames(t *testing.T) {
	a := readRule(t, userJoinID)
	b := strings.Replace(string(a), "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d", "11111111-2222-3333-4444-555555555555", 1)
	b = strings.Replace(b, "<precedence>100<", "<precedence>200<", 1)
	res := aadc.Import([]aadc.File{{Name: "a.xml", Data: a}, {Name: "b.xml", Data: []byte(b)}}, aadc.Options{ConnectorMap: map[string]string{
		adGUID: "contoso", "11111111-2222-3333-4444-555555555555": "fabrikam"}})
	if len(res.Problems) != 0 || len(res.Rules) != 2 {
		t.Fatalf("problems %v, rules %d", res.Problems, len(res.Rules))
	}
	for i, want := range []string{"In from AD - User Join (contoso)", "In from AD - User Join (fabrikam)"} {
		if r := res.Rules[i]; r.Name != want || r.Origin.Name != "In from AD - User Join" {
			t.Errorf("rule %d: name %q origin %q, want %q", i, r.Name, r.Origin.Name, want)
		}
	}
	c := strings.Replace(b, "<precedence>200<", "<precedence>100<", 1)
	res = aadc.Import([]aadc.File{{Name: "a.xml", Data: a}, {Name: "c.xml", Data: []byte(c)}}, aadc.Options{})
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), "c.xml: precedence") || len(res.Rules) != 1 {
		t.Errorf("problems %v, rules %d; want one precedence problem on c.xml", res.Problems, len(res.Rules))
	}
	if len(res.Unmapped) != 1 || res.Unmapped[0] != "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d" {
		t.Errorf("Unmapped = %v", res.Unmapped)
	}
}

// evalEnv is an expr.Env over a map.
type evalEnv map[string][]idsync.Value

func (e evalEnv) Attr(n string) []idsync.Value     { return e[n] }
func (e evalEnv) Imported(n string) []idsync.Value { return e[n] }
func (e evalEnv) Param(n string) (string, bool)    { return "", false }

// TestOperatorPrecedence: the cloudFiltered expressions of the default
// user and group join rules (../shared/testdata/aadc/expressions.txt lines
// 14 and 76) mix || with = unparenthesised. Read strictly left to right,
// as Microsoft documents the language, they fail on every object
// ("IsPresent(a) || IsPresent(b) = False" becomes "(... || ...) = False",
// then "||" meets a string); Entra Connect filters exactly the system
// accounts with them, which is conventional precedence. Imported rules
// therefore carry operatorPrecedence: conventional.
func TestOperatorPrecedence(t *testing.T) {
	lines, err := os.ReadFile("../../shared/testdata/aadc/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	exprs := strings.Split(string(lines), "\n")
	str := func(s string) []idsync.Value { return []idsync.Value{idsync.String(s)} }
	dn := str("CN=x,OU=Users,DC=contoso,DC=com")
	tests := []struct {
		name     string
		src      string
		env      evalEnv
		conv     string // conventional precedence: Entra Connect's result
		leftOnly string // strictly left to right
	}{
		{"user: ordinary account", exprs[13], evalEnv{"sAMAccountName": str("jdoe"), "dn": dn}, "<null>", `error: expr: ||: string "jdoe" is not a boolean`},
		{"user: SUPPORT account", exprs[13], evalEnv{"sAMAccountName": str("SUPPORT_388945a0"), "dn": dn}, "True", `error: expr: ||: string "SUPPORT_388945a0" is not a boolean`},
		{"user: MSOL account", exprs[13], evalEnv{"sAMAccountName": str("MSOL_abc"), "dn": dn}, "True", `error: expr: ||: string "MSOL_abc" is not a boolean`},
		{"user: critical system object", exprs[13], evalEnv{"isCriticalSystemObject": []idsync.Value{idsync.Bool(true)}, "sAMAccountName": str("krbtgt"), "dn": dn}, "True", `error: expr: ||: string "krbtgt" is not a boolean`},
		{"group: ordinary group", exprs[75], evalEnv{"sAMAccountName": str("Sales"), "dn": dn}, "<null>", `error: expr: ||: string "Sales" is not a boolean`},
		{"group: rich coexistence group", exprs[75], evalEnv{"sAMAccountName": str("MSOL_AD_Sync_RichCoexistence"), "dn": dn}, "True", `error: expr: ||: string "MSOL_AD_Sync_RichCoexistence" is not a boolean`},
		{"contact: hidden MSOL contact", exprs[80], evalEnv{"displayName": str("x (MSOL) y"), "msExchHideFromAddressLists": []idsync.Value{idsync.Bool(true)}, "dn": dn}, "True", "True"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				opts *expr.Options
				want string
			}{{&expr.Options{Precedence: expr.Conventional}, tt.conv}, {nil, tt.leftOnly}} {
				p, err := expr.Compile(tt.src, c.opts)
				if err != nil {
					t.Fatal(err)
				}
				res, err := p.Eval(tt.env)
				if got := render(res, err); got != c.want {
					t.Errorf("precedence %v: %s, want %s", c.opts, got, c.want)
				}
			}
		})
	}
	res := importPaths(t, defaultMap, defaultRules)
	for _, r := range res.Rules {
		if r.OperatorPrecedence != idsync.PrecedenceConventional {
			t.Errorf("rule %q: operatorPrecedence %q", r.Name, r.OperatorPrecedence)
		}
	}
}

func render(res expr.Result, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if res.Flag != 0 {
		return res.Flag.String()
	}
	if len(res.Values) == 0 {
		return "<null>"
	}
	var s []string
	for _, v := range res.Values {
		s = append(s, v.String())
	}
	return strings.Join(s, ";")
}

// TestPowerShellStyles: hand-written scripts use other constructs than the
// editor's export — property assignments on New-Object, nested
// New-ADSyncJoinCondition calls, here-strings, switches, pipes — and read
// to the same model.
func TestPowerShellStyles(t *testing.T) {
	src := `Import-Module ADSync
$connector = 'ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d'
$scope1 = New-Object Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition
$scope1.Attribute = "employeeType"
$scope1.ComparisonOperator = "ISIN"
$scope1.ComparisonValue = "P;R"
$rule = New-ADSyncRule -Name 'Custom - In from AD - It''s mine' -Identifier '11111111-2222-3333-4444-555555555555' ` + "`" + `
   -Direction Inbound -Precedence 50 -SourceObjectType user -TargetObjectType person ` + "`" + `
   -Connector $connector -LinkType StickyJoin -Disabled -EnablePasswordSync:$false
Add-ADSyncScopeConditionGroup -SynchronizationRule $rule -ScopeConditions @($scope1)
Add-ADSyncJoinConditionGroup -SynchronizationRule $rule -JoinConditions @(
    New-ADSyncJoinCondition -CSAttribute employeeID -MVAttribute employeeID -CaseSensitive
    New-ADSyncJoinCondition -CSAttribute sn -MVAttribute sn
)
Add-ADSyncAttributeFlowMapping -SynchronizationRule $rule -Destination extensionAttribute1 -FlowType Expression -ValueMergeType Update -Expression @'
IIF(IsPresent([employeeType]), "x" & [employeeType], NULL)
'@
Add-ADSyncAttributeFlowMapping -SynchronizationRule $rule -Source @('employeeID') -Destination employeeID -FlowType Direct -ExecuteOnce
$rule | Add-ADSyncRule
`
	res := aadc.Import([]aadc.File{{Name: "custom.ps1", Data: []byte(src)}}, aadc.Options{ConnectorMap: map[string]string{adGUID: "ad"}})
	if len(res.Problems) != 0 || len(res.Rules) != 1 {
		t.Fatalf("problems %v, %d rules", res.Problems, len(res.Rules))
	}
	got := res.Rules[0]
	want := &idsync.SyncRule{
		Name: "Custom - In from AD - It's mine", Direction: idsync.Inbound, Connector: "ad", CSType: "user", MVType: "person",
		LinkType: idsync.LinkStickyJoin, Precedence: 50, Disabled: true, OperatorPrecedence: idsync.PrecedenceConventional,
		Scope: []idsync.ScopeGroup{{{Attr: "employeeType", Op: idsync.ScopeIsIn, Value: "P;R"}}},
		Join:  []idsync.JoinGroup{{{Source: "employeeID", Target: "employeeID", CaseSensitive: true}, {Source: "sn", Target: "sn"}}},
		Flows: []idsync.Flow{
			{Target: "extensionAttribute1", Type: idsync.FlowExpression, Expression: `IIF(IsPresent([employeeType]), "x" & [employeeType], NULL)`},
			{Target: "employeeID", Type: idsync.FlowDirect, Source: "employeeID", ApplyOnce: true},
		},
		Origin: &idsync.RuleOrigin{System: idsync.OriginEntraConnect, Name: "Custom - In from AD - It's mine", ID: "11111111-2222-3333-4444-555555555555",
			Connector: "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d", File: "custom.ps1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
}
