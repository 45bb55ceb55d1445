package engine

import (
	"testing"
	"time"

	"github.com/idsync/idsync"
)

// TestSpec7_2_ScopeOperators evaluates one clause of every §7.2 operator
// against attribute values: numbers compare numerically, booleans
// case-insensitively; a positive operator on a multi-valued attribute
// holds when some value satisfies it, a negated one when none satisfies
// its positive; an absent attribute satisfies only ISNULL and the
// negated text and set operators.
func TestSpec7_2_ScopeOperators(t *testing.T) {
	s := idsync.String
	n := idsync.Int
	b := idsync.Bool
	day := func(d string) idsync.Value {
		tm, err := time.Parse("2006-01-02", d)
		if err != nil {
			t.Fatal(err)
		}
		return idsync.Time(tm)
	}
	groups := map[string]bool{"CN=Staff,OU=Groups,DC=x": true}
	memberOf := func(g string) bool { return groups[g] }
	var absent []idsync.Value

	tests := []struct {
		op    idsync.ScopeOp
		value string
		vs    []idsync.Value
		want  bool
	}{
		{idsync.ScopeEqual, "active", []idsync.Value{s("active")}, true},
		{idsync.ScopeEqual, "active", []idsync.Value{s("leaver")}, false},
		{idsync.ScopeEqual, "active", absent, false},
		{idsync.ScopeEqual, "10", []idsync.Value{s("010")}, true}, // numerically
		{idsync.ScopeEqual, "10", []idsync.Value{n(10)}, true},
		{idsync.ScopeEqual, "TRUE", []idsync.Value{s("True")}, true}, // booleans case-insensitively
		{idsync.ScopeEqual, "true", []idsync.Value{b(true)}, true},
		{idsync.ScopeEqual, "TRUE", []idsync.Value{b(false)}, false},
		{idsync.ScopeEqual, "b", []idsync.Value{s("a"), s("b")}, true}, // multi-valued: some value
		{idsync.ScopeNotEqual, "active", []idsync.Value{s("leaver")}, true},
		{idsync.ScopeNotEqual, "active", []idsync.Value{s("active")}, false},
		{idsync.ScopeNotEqual, "False", []idsync.Value{s("FALSE")}, false},
		{idsync.ScopeNotEqual, "b", []idsync.Value{s("a"), s("b")}, false}, // multi-valued: no value
		{idsync.ScopeNotEqual, "b", []idsync.Value{s("a"), s("c")}, true},
		{idsync.ScopeNotEqual, "active", absent, true},

		{idsync.ScopeLessThan, "10", []idsync.Value{s("9")}, true}, // "9" < "10" numerically
		{idsync.ScopeLessThan, "10", []idsync.Value{s("10")}, false},
		{idsync.ScopeLessThan, "10", absent, false},
		{idsync.ScopeLessThanOrEqual, "10", []idsync.Value{s("10")}, true},
		{idsync.ScopeLessThanOrEqual, "10", []idsync.Value{n(11)}, false},
		{idsync.ScopeGreaterThan, "9", []idsync.Value{s("10")}, true}, // "10" > "9" numerically
		{idsync.ScopeGreaterThan, "9", []idsync.Value{s("9")}, false},
		{idsync.ScopeGreaterThan, "9", []idsync.Value{s("1"), s("12")}, true},
		{idsync.ScopeGreaterThan, "9", absent, false},
		{idsync.ScopeGreaterThan, "2020-01-01", []idsync.Value{day("2021-06-01")}, true},
		{idsync.ScopeGreaterThan, "2020-01-01", []idsync.Value{day("2019-06-01")}, false},
		{idsync.ScopeGreaterThanOrEqual, "9", []idsync.Value{s("9")}, true},
		{idsync.ScopeGreaterThanOrEqual, "9", []idsync.Value{s("8")}, false},

		{idsync.ScopeIsNull, "", absent, true},
		{idsync.ScopeIsNull, "", []idsync.Value{s("x")}, false},
		{idsync.ScopeIsNotNull, "", []idsync.Value{s("x")}, true},
		{idsync.ScopeIsNotNull, "", absent, false},

		{idsync.ScopeStartsWith, "CN=", []idsync.Value{s("CN=Ada")}, true},
		{idsync.ScopeStartsWith, "CN=", []idsync.Value{s("OU=Ada")}, false},
		{idsync.ScopeStartsWith, "CN=", absent, false},
		{idsync.ScopeNotStartsWith, "adm-", []idsync.Value{s("ada")}, true},
		{idsync.ScopeNotStartsWith, "adm-", []idsync.Value{s("ada"), s("adm-ada")}, false},
		{idsync.ScopeNotStartsWith, "adm-", absent, true},
		{idsync.ScopeEndsWith, "@x.com", []idsync.Value{s("ada@x.com")}, true},
		{idsync.ScopeEndsWith, "@x.com", []idsync.Value{s("ada@y.com")}, false},
		{idsync.ScopeNotEndsWith, "@x.com", []idsync.Value{s("ada@y.com")}, true},
		{idsync.ScopeNotEndsWith, "@x.com", []idsync.Value{s("ada@x.com")}, false},
		{idsync.ScopeContains, "ov", []idsync.Value{s("Lovelace")}, true},
		{idsync.ScopeContains, "zz", []idsync.Value{s("Lovelace")}, false},
		{idsync.ScopeContains, "ov", absent, false},
		{idsync.ScopeNotContains, "zz", []idsync.Value{s("Lovelace")}, true},
		{idsync.ScopeNotContains, "ov", []idsync.Value{s("Lovelace")}, false},

		// The "enabled users" example: userAccountControl 512 in scope, 514 out.
		{idsync.ScopeIsNotBitSet, "2", []idsync.Value{s("512")}, true},
		{idsync.ScopeIsNotBitSet, "2", []idsync.Value{s("514")}, false},
		{idsync.ScopeIsNotBitSet, "2", []idsync.Value{n(512)}, true},
		{idsync.ScopeIsNotBitSet, "2", absent, false},
		{idsync.ScopeIsBitSet, "2", []idsync.Value{s("514")}, true},
		{idsync.ScopeIsBitSet, "2", []idsync.Value{n(512)}, false},
		{idsync.ScopeIsBitSet, "&H200", []idsync.Value{n(512)}, true},
		{idsync.ScopeIsBitSet, "2", absent, false},

		{idsync.ScopeIsMemberOf, "CN=Staff,OU=Groups,DC=x", absent, true},
		{idsync.ScopeIsMemberOf, "CN=Admins,OU=Groups,DC=x", absent, false},
		{idsync.ScopeIsNotMemberOf, "CN=Staff,OU=Groups,DC=x", absent, false},
		{idsync.ScopeIsNotMemberOf, "CN=Admins,OU=Groups,DC=x", absent, true},

		{idsync.ScopeIsIn, "FR;DE;IT", []idsync.Value{s("DE")}, true},
		{idsync.ScopeIsIn, "FR; DE; IT", []idsync.Value{s("IT")}, true},
		{idsync.ScopeIsIn, "FR;DE;IT", []idsync.Value{s("ES")}, false},
		{idsync.ScopeIsIn, "FR;DE;IT", []idsync.Value{s("ES"), s("FR")}, true},
		{idsync.ScopeIsIn, "FR;DE;IT", absent, false},
		{idsync.ScopeIsNotIn, "FR;DE;IT", []idsync.Value{s("ES")}, true},
		{idsync.ScopeIsNotIn, "FR;DE;IT", []idsync.Value{s("FR")}, false},
		{idsync.ScopeIsNotIn, "FR;DE;IT", []idsync.Value{s("ES"), s("FR")}, false},
		{idsync.ScopeIsNotIn, "FR;DE;IT", absent, true},
	}
	seen := map[idsync.ScopeOp]bool{}
	for _, tt := range tests {
		seen[tt.op] = true
		cl, err := compileClause(idsync.ScopeClause{Attr: "a", Op: tt.op, Value: tt.value}, nil)
		if err != nil {
			t.Errorf("compile %s %q: %v", tt.op, tt.value, err)
			continue
		}
		if got := cl.holds(tt.vs, memberOf); got != tt.want {
			t.Errorf("%s %q on %v = %v, want %v", tt.op, tt.value, tt.vs, got, tt.want)
		}
	}
	for _, op := range idsync.ScopeOps {
		if !seen[op] {
			t.Errorf("operator %s is not tested", op)
		}
	}
}

// TestSpec7_2_ScopeGroups: clauses of a group are ANDed, groups ORed, and
// no group means always in scope.
func TestSpec7_2_ScopeGroups(t *testing.T) {
	cl := func(attr string, op idsync.ScopeOp, v string) idsync.ScopeClause {
		return idsync.ScopeClause{Attr: attr, Op: op, Value: v}
	}
	rule := func(groups ...idsync.ScopeGroup) *compiledRule {
		r := &compiledRule{SyncRule: &idsync.SyncRule{Name: "r"}}
		for _, g := range groups {
			var cg []clause
			for _, c := range g {
				cl, err := compileClause(c, map[string]string{"Connector.ID": "hr"})
				if err != nil {
					t.Fatal(err)
				}
				cg = append(cg, cl)
			}
			r.scope = append(r.scope, cg)
		}
		return r
	}
	attrs := idsync.Attrs{"status": {idsync.String("active")}, "country": {idsync.String("FR")}, "source": {idsync.String("hr")}}
	tests := []struct {
		name string
		r    *compiledRule
		want bool
	}{
		{"no groups", rule(), true},
		{"one group, all hold", rule(idsync.ScopeGroup{cl("status", idsync.ScopeEqual, "active"), cl("country", idsync.ScopeEqual, "FR")}), true},
		{"one group, one fails", rule(idsync.ScopeGroup{cl("status", idsync.ScopeEqual, "active"), cl("country", idsync.ScopeEqual, "DE")}), false},
		{"second group holds", rule(idsync.ScopeGroup{cl("country", idsync.ScopeEqual, "DE")}, idsync.ScopeGroup{cl("status", idsync.ScopeEqual, "active")}), true},
		{"no group holds", rule(idsync.ScopeGroup{cl("country", idsync.ScopeEqual, "DE")}, idsync.ScopeGroup{cl("status", idsync.ScopeEqual, "leaver")}), false},
		{"parameter", rule(idsync.ScopeGroup{cl("source", idsync.ScopeEqual, "%Connector.ID%")}), true},
	}
	for _, tt := range tests {
		got, detail := tt.r.inScope(attrs, nil)
		if got != tt.want {
			t.Errorf("%s: inScope = %v (%s), want %v", tt.name, got, detail, tt.want)
		}
		if !got && detail == "" {
			t.Errorf("%s: out of scope without naming the failing clause", tt.name)
		}
	}
}
