package engine

import "github.com/idsync/idsync"

// Preview is what a sync of one CS object would do, computed without
// committing anything (§14).
type Preview struct {
	Connector string           `json:"connector"`
	Object    *idsync.CSObject `json:"object"`
	// Scope is the scoping result of every rule considered.
	Scope []ScopeTrace `json:"scope"`
	// Decision is the join or projection decision: "joined" (already
	// joined), "join", "project", "disjoined", "disconnect" (left scope),
	// "delete" (pending delete), "error".
	Decision string `json:"decision"`
	// JoinRule and MVID say which rule joined or projected to which MV object.
	JoinRule string `json:"joinRule,omitempty"`
	MVID     string `json:"mvId,omitempty"`
	// Flows lists every inbound attribute flow evaluated, with the value
	// before and after on the MV object and whether it won.
	Flows []FlowTrace `json:"flows"`
	// MVDeleted says the MV object would be deleted by its deletion rule.
	MVDeleted bool `json:"mvDeleted,omitempty"`
	// Outbound lists the consequences in other connector spaces.
	Outbound []OutboundTrace      `json:"outbound"`
	Errors   []idsync.ObjectError `json:"errors,omitempty"`
}

// ScopeTrace is one rule's scoping result.
type ScopeTrace struct {
	Rule      string `json:"rule"`
	Direction string `json:"direction"`
	Connector string `json:"connector"`
	InScope   bool   `json:"inScope"`
	// Detail names the first failing clause, when out of scope.
	Detail string `json:"detail,omitempty"`
}

// FlowTrace is one evaluated attribute flow.
type FlowTrace struct {
	Rule       string         `json:"rule"`
	Connector  string         `json:"connector"`
	Precedence int            `json:"precedence"`
	Target     string         `json:"target"`
	Flow       string         `json:"flow"`
	Result     []idsync.Value `json:"result,omitempty"`
	// Outcome is "value", "null", "ignore", "authoritative-null", "apply-once-skipped" or "error".
	Outcome string         `json:"outcome"`
	Before  []idsync.Value `json:"before,omitempty"`
	After   []idsync.Value `json:"after,omitempty"`
	Won     bool           `json:"won"`
}

// OutboundTrace is what would happen in one connector space.
type OutboundTrace struct {
	Connector string `json:"connector"`
	Rule      string `json:"rule,omitempty"`
	// Action is "provision", "join", "update", "rename", "deprovision",
	// "disconnect", "none", or for matching (§12) "hard-match",
	// "soft-match", "match-conflict" (a candidate not taken: the add that
	// follows fails at export) or "match-ambiguous"; "error" for an
	// ambiguous outbound join.
	Action string `json:"action"`
	// Detail explains a matching decision: the attribute and value that
	// matched, or why a candidate was not taken.
	Detail string           `json:"detail,omitempty"`
	CSID   string           `json:"csId,omitempty"`
	DN     string           `json:"dn,omitempty"`
	NewDN  string           `json:"newDn,omitempty"`
	Mods   []idsync.AttrMod `json:"mods,omitempty"`
}

// tracer collects a Preview while sync code runs; nil when not previewing.
type tracer struct {
	p *Preview
}

func (t *tracer) scope(rule *compiledRule, in bool, detail string) {
	if t == nil {
		return
	}
	t.p.Scope = append(t.p.Scope, ScopeTrace{Rule: rule.Name, Direction: rule.Direction.String(), Connector: rule.Connector, InScope: in, Detail: detail})
}

func (t *tracer) flow(ft FlowTrace) {
	if t == nil {
		return
	}
	t.p.Flows = append(t.p.Flows, ft)
}

func (t *tracer) outbound(ot OutboundTrace) {
	if t == nil {
		return
	}
	t.p.Outbound = append(t.p.Outbound, ot)
}

func (t *tracer) decision(d, rule, mvID string) {
	if t == nil {
		return
	}
	t.p.Decision, t.p.JoinRule, t.p.MVID = d, rule, mvID
}
