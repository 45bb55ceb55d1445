package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// OpenExport runs exportBegin and returns a session whose pages go to exportData.
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	if _, ok := c.scripts[OpExportData]; !ok {
		return nil, errors.ErrUnsupported
	}
	sch, err := c.loadSchema(ctx)
	if err != nil {
		return nil, err
	}
	batch := opts.PageSize
	if batch <= 0 {
		batch = c.cfg.pageSize()
	}
	s := &exportSession{c: c, sch: sch, rs: runStep{Type: "delta", Partition: opts.Partition, PageSize: batch},
		sc: scope{partition: opts.Partition, step: idsync.StepExport, inStep: true}}
	if _, ok := c.scripts[OpExportBegin]; ok {
		if _, err := c.call(ctx, OpExportBegin, s.input(OpExportBegin)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type exportSession struct {
	c      *conn
	sch    *schema
	rs     runStep
	sc     scope
	failed bool
	closed bool
}

func (s *exportSession) input(op string) *input {
	in := s.c.newInput(op, s.sc)
	if s.sch != nil {
		in.Schema = s.sch.doc
	}
	r := s.rs
	in.RunStep = &r
	return in
}

// ExportPage hands one page to exportData and matches its results to the
// changes. A page the script fails as a whole (crash, time-out, malformed
// result, an unknown identifier) is an error: nothing of it is recorded.
func (s *exportSession) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	c := s.c
	s.rs.PageNumber++
	in := s.input(OpExportData)
	in.Entries = make([]exportEntry, len(changes))
	for i, ch := range changes {
		in.Entries[i] = s.entry(ch)
	}
	res, err := c.call(ctx, OpExportData, in)
	if err != nil {
		s.failed = true
		return nil, err
	}
	fail := func(err error) error {
		s.failed = true
		return &CallError{Connector: c.env.Name, Operation: OpExportData, Script: c.scriptName(OpExportData), Err: fmt.Errorf("page %d: %w", s.rs.PageNumber, err)}
	}
	want := make(map[string]bool, len(changes))
	for _, ch := range changes {
		want[ch.ID] = true
	}
	got := make(map[string]exportResultDoc, len(res.Results))
	for i, r := range res.Results {
		if !want[r.Identifier] {
			return nil, fail(fmt.Errorf("results[%d]: identifier %q is not an entry of this page", i, r.Identifier))
		}
		if _, dup := got[r.Identifier]; dup {
			return nil, fail(fmt.Errorf("results[%d]: identifier %q answered twice", i, r.Identifier))
		}
		got[r.Identifier] = r
	}
	out := make([]connector.ExportResult, len(changes))
	for i, ch := range changes {
		r, ok := got[ch.ID]
		er := connector.ExportResult{ID: ch.ID}
		switch {
		case !ok:
			er.Err = errors.New("the export script returned no result for this entry")
			er.ErrorType = "ExportErrorMissingResult"
		case r.ErrorName != "" && !strings.EqualFold(r.ErrorName, "success"):
			detail := c.redact(r.ErrorDetail)
			if detail == "" {
				detail = r.ErrorName
			}
			er.Err = errors.New(detail)
			er.ErrorType = c.redact(r.ErrorName)
		default:
			er.Anchor = idsync.Anchor(r.Anchor)
			er.DN = r.DN
		}
		out[i] = er
	}
	return out, nil
}

// entry converts a change to the contract's export entry: the attribute
// changes ECMA2-style, and the simple attributes table PSMA-style.
func (s *exportSession) entry(ch idsync.Change) exportEntry {
	e := exportEntry{Identifier: ch.ID, ObjectType: ch.ObjectType, Anchor: string(ch.Anchor), DN: ch.DN, NewDN: ch.NewDN,
		Attributes: map[string]json.RawMessage{}, AttributeChanges: []attrChangeDoc{}, ChangedAttributeNames: []string{}}
	switch ch.Op {
	case idsync.OpAdd:
		e.ModificationType = "Add"
	case idsync.OpReplace:
		e.ModificationType = "Replace"
	case idsync.OpDelete:
		e.ModificationType = "Delete"
	default:
		e.ModificationType = "Update"
	}
	multi := func(name string) bool {
		if s.sch == nil {
			return false
		}
		if ti := s.sch.types[ch.ObjectType]; ti != nil {
			return ti.attrs[name].MultiValued
		}
		return false
	}
	// Value-level mods of one attribute merge into one Update change.
	index := map[string]int{}
	for _, m := range ch.Mods {
		vcs := func(kind string) []valueChangeDoc {
			out := make([]valueChangeDoc, len(m.Values))
			for i, v := range m.Values {
				out[i] = valueChangeDoc{ModificationType: kind, Value: encodeValue(v)}
			}
			return out
		}
		var ac attrChangeDoc
		switch {
		case m.Op == idsync.AttrAdd || m.Op == idsync.AttrDelete:
			kind := "Add"
			if m.Op == idsync.AttrDelete {
				kind = "Delete"
			}
			if j, ok := index[m.Name]; ok && e.AttributeChanges[j].ModificationType == "Update" {
				e.AttributeChanges[j].ValueChanges = append(e.AttributeChanges[j].ValueChanges, vcs(kind)...)
				continue
			}
			ac = attrChangeDoc{Name: m.Name, ModificationType: "Update", ValueChanges: vcs(kind)}
		case m.Op == idsync.AttrClear || len(m.Values) == 0:
			if ch.Op == idsync.OpAdd || ch.Op == idsync.OpReplace {
				continue
			}
			ac = attrChangeDoc{Name: m.Name, ModificationType: "Delete"}
			e.Attributes[m.Name] = json.RawMessage("null")
		default:
			kind := "Replace"
			if ch.Op == idsync.OpAdd || ch.Op == idsync.OpReplace {
				kind = "Add"
			}
			ac = attrChangeDoc{Name: m.Name, ModificationType: kind, ValueChanges: vcs("Add")}
			e.Attributes[m.Name] = encodeValues(m.Values, multi(m.Name))
		}
		if _, seen := index[m.Name]; !seen {
			e.ChangedAttributeNames = append(e.ChangedAttributeNames, m.Name)
		}
		index[m.Name] = len(e.AttributeChanges)
		e.AttributeChanges = append(e.AttributeChanges, ac)
	}
	return e
}

// Close runs exportEnd, telling it whether the export went through.
func (s *exportSession) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	if _, ok := s.c.scripts[OpExportEnd]; !ok {
		return nil
	}
	in := s.input(OpExportEnd)
	in.RunStep.PageNumber = 0
	in.RunStep.Reason = "success"
	if s.failed || ctx.Err() != nil {
		in.RunStep.Reason = reasonOf(ctx)
		ctx = context.WithoutCancel(ctx)
	}
	_, err := s.c.call(ctx, OpExportEnd, in)
	return err
}
