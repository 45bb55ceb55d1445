package idsync

import (
	"fmt"
	"strings"
)

// Direction is the direction of a sync rule.
type Direction uint8

// Directions.
const (
	Inbound  Direction = iota // CS to MV
	Outbound                  // MV to CS
)

func (d Direction) String() string {
	if d == Outbound {
		return "outbound"
	}
	return "inbound"
}

// ParseDirection parses "inbound" or "outbound" (case-insensitive).
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "inbound":
		return Inbound, nil
	case "outbound":
		return Outbound, nil
	}
	return 0, fmt.Errorf("unknown direction %q (want inbound or outbound)", s)
}

// ScopeOp is a scoping-filter operator (§7.2).
type ScopeOp string

// Scoping-filter operators.
const (
	ScopeEqual              ScopeOp = "EQUAL"
	ScopeNotEqual           ScopeOp = "NOTEQUAL"
	ScopeLessThan           ScopeOp = "LESSTHAN"
	ScopeLessThanOrEqual    ScopeOp = "LESSTHAN_OR_EQUAL"
	ScopeGreaterThan        ScopeOp = "GREATERTHAN"
	ScopeGreaterThanOrEqual ScopeOp = "GREATERTHAN_OR_EQUAL"
	ScopeIsNull             ScopeOp = "ISNULL"
	ScopeIsNotNull          ScopeOp = "ISNOTNULL"
	ScopeStartsWith         ScopeOp = "STARTSWITH"
	ScopeNotStartsWith      ScopeOp = "NOTSTARTSWITH"
	ScopeEndsWith           ScopeOp = "ENDSWITH"
	ScopeNotEndsWith        ScopeOp = "NOTENDSWITH"
	ScopeContains           ScopeOp = "CONTAINS"
	ScopeNotContains        ScopeOp = "NOTCONTAINS"
	ScopeIsBitSet           ScopeOp = "ISBITSET"
	ScopeIsNotBitSet        ScopeOp = "ISNOTBITSET" // also spelled ISBITNOTSET in Entra Connect exports
	ScopeIsMemberOf         ScopeOp = "ISMEMBEROF"
	ScopeIsNotMemberOf      ScopeOp = "ISNOTMEMBEROF"
	ScopeIsIn               ScopeOp = "ISIN"
	ScopeIsNotIn            ScopeOp = "ISNOTIN"
)

// ScopeOps lists every scoping operator.
var ScopeOps = []ScopeOp{
	ScopeEqual, ScopeNotEqual, ScopeLessThan, ScopeLessThanOrEqual, ScopeGreaterThan,
	ScopeGreaterThanOrEqual, ScopeIsNull, ScopeIsNotNull, ScopeStartsWith, ScopeNotStartsWith,
	ScopeEndsWith, ScopeNotEndsWith, ScopeContains, ScopeNotContains, ScopeIsBitSet, ScopeIsNotBitSet,
	ScopeIsMemberOf, ScopeIsNotMemberOf, ScopeIsIn, ScopeIsNotIn,
}

// ParseScopeOp parses an operator name (case-insensitive; ISBITNOTSET is
// accepted for ISNOTBITSET).
func ParseScopeOp(s string) (ScopeOp, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "ISBITNOTSET" {
		return ScopeIsNotBitSet, nil
	}
	for _, op := range ScopeOps {
		if string(op) == u {
			return op, nil
		}
	}
	return "", fmt.Errorf("unknown scoping operator %q", s)
}

// ScopeClause is one condition of a scoping filter group. Value is always
// text; it may hold a rule parameter such as %Connector.ID%.
type ScopeClause struct {
	Attr  string  `json:"attribute"`
	Op    ScopeOp `json:"operator"`
	Value string  `json:"value,omitempty"`
}

// ScopeGroup is a conjunction of clauses.
type ScopeGroup []ScopeClause

// JoinCondition is one equality of a join group: the rule's source
// attribute equals the target attribute.
type JoinCondition struct {
	Source        string `json:"source"`
	Target        string `json:"target"`
	CaseSensitive bool   `json:"caseSensitive,omitempty"`
}

// JoinGroup is a conjunction of join conditions.
type JoinGroup []JoinCondition

// FlowType is the kind of a transformation (§7.4).
type FlowType uint8

// Flow types.
const (
	FlowDirect FlowType = iota
	FlowConstant
	FlowExpression
)

var flowTypeNames = [...]string{"Direct", "Constant", "Expression"}

func (t FlowType) String() string {
	if int(t) < len(flowTypeNames) {
		return flowTypeNames[t]
	}
	return fmt.Sprintf("FlowType(%d)", t)
}

// ParseFlowType parses Direct, Constant or Expression (case-insensitive).
func ParseFlowType(s string) (FlowType, error) {
	for i, n := range flowTypeNames {
		if equalFoldASCII(n, s) {
			return FlowType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown flow type %q (want Direct, Constant or Expression)", s)
}

// MergeType says how a flow's values combine with others on a multi-valued target.
type MergeType uint8

// Merge types.
const (
	MergeUpdate          MergeType = iota // the winning contribution replaces the target
	MergeMerge                            // union of every contribution
	MergeCaseInsensitive                  // union, comparing strings case-insensitively
	MergeReplace                          // synonym of Update kept for imported rules
)

var mergeTypeNames = [...]string{"Update", "Merge", "MergeCaseInsensitive", "Replace"}

func (t MergeType) String() string {
	if int(t) < len(mergeTypeNames) {
		return mergeTypeNames[t]
	}
	return fmt.Sprintf("MergeType(%d)", t)
}

// ParseMergeType parses a merge type name (case-insensitive).
func ParseMergeType(s string) (MergeType, error) {
	for i, n := range mergeTypeNames {
		if equalFoldASCII(n, s) {
			return MergeType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown merge type %q (want Update, Merge, MergeCaseInsensitive or Replace)", s)
}

// Flow is one transformation of a sync rule (§7.4).
type Flow struct {
	Target string   `json:"target"`
	Type   FlowType `json:"type"`
	// Source is the source attribute of a Direct flow.
	Source string `json:"source,omitempty"`
	// Constant is the value of a Constant flow, as text.
	Constant string `json:"constant,omitempty"`
	// Expression is the source text of an Expression flow.
	Expression string    `json:"expression,omitempty"`
	ApplyOnce  bool      `json:"applyOnce,omitempty"`
	Merge      MergeType `json:"merge,omitempty"`
}

// Describe returns a short human description of the flow.
func (f Flow) Describe() string {
	switch f.Type {
	case FlowDirect:
		return "Direct " + f.Source
	case FlowConstant:
		return "Constant " + f.Constant
	}
	return "Expression " + f.Expression
}

// SyncRule is a declarative sync rule (§7).
type SyncRule struct {
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	ImmutableTag string    `json:"immutableTag,omitempty"`
	Direction    Direction `json:"direction"`
	Connector    string    `json:"connector"`
	// CSType is the connector-space object type; MVType the metaverse object type.
	CSType     string   `json:"csObjectType"`
	MVType     string   `json:"mvObjectType"`
	LinkType   LinkType `json:"linkType"`
	Precedence int      `json:"precedence"`
	Disabled   bool     `json:"disabled,omitempty"`
	// PasswordSync enables password flow through this rule.
	PasswordSync bool         `json:"passwordSync,omitempty"`
	Scope        []ScopeGroup `json:"scope,omitempty"`
	Join         []JoinGroup  `json:"join,omitempty"`
	Flows        []Flow       `json:"flows,omitempty"`
	// OperatorPrecedence selects how the rule's expressions bind their
	// operators: "" or "left-to-right" (every operator the same priority, as
	// the reference documents), or "conventional" (*, / before +, - before
	// & before comparisons before && before ||), which rules imported from
	// Entra Connect need to give the results they give there.
	OperatorPrecedence string `json:"operatorPrecedence,omitempty"`
	// Origin records where an imported rule came from; nil for rules
	// written for idsync.
	Origin *RuleOrigin `json:"origin,omitempty"`

	// Source locates the rule's definition ("rules/hr.yaml:12") for errors.
	Source string `json:"-"`
}

// Operator precedences of a rule's expressions (SyncRule.OperatorPrecedence).
const (
	PrecedenceLeftToRight  = "left-to-right"
	PrecedenceConventional = "conventional"
)

// RuleOrigin says where an imported rule came from, so that its original
// identity stays visible when idsync had to rename it.
type RuleOrigin struct {
	// System is the product the rule was imported from ("entra-connect").
	System string `json:"system"`
	// Name is the rule's name there (idsync names must be unique; the
	// imported name may carry a suffix).
	Name string `json:"name,omitempty"`
	// ID is the rule's identifier there (a GUID for Entra Connect).
	ID string `json:"id,omitempty"`
	// Connector is the connector the rule named there (GUID or name).
	Connector string `json:"connector,omitempty"`
	// File is the file the rule was imported from.
	File string `json:"file,omitempty"`
}

// OriginEntraConnect is RuleOrigin.System for rules imported from Entra
// Connect (Azure AD Connect) Sync.
const OriginEntraConnect = "entra-connect"

// DNAttr is the flow target that computes an outbound object's DN.
const DNAttr = "dn"
