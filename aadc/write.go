package aadc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
)

// The YAML shapes of the configuration files written (config/ reads them).
type yRuleFile struct {
	Rules []yRule `yaml:"rules"`
}

type yRule struct {
	Name               string      `yaml:"name"`
	Description        string      `yaml:"description,omitempty"`
	ImmutableTag       string      `yaml:"immutableTag,omitempty"`
	Origin             *yOrigin    `yaml:"origin,omitempty"`
	Direction          string      `yaml:"direction"`
	Connector          string      `yaml:"connector"`
	CSObjectType       string      `yaml:"csObjectType"`
	MVObjectType       string      `yaml:"mvObjectType"`
	LinkType           string      `yaml:"linkType"`
	Precedence         int         `yaml:"precedence"`
	Enabled            bool        `yaml:"enabled"`
	PasswordSync       bool        `yaml:"passwordSync,omitempty"`
	OperatorPrecedence string      `yaml:"operatorPrecedence,omitempty"`
	Scope              [][]yClause `yaml:"scope,omitempty"`
	Join               [][]yJoin   `yaml:"join,omitempty"`
	Flows              []yFlow     `yaml:"flows,omitempty"`
}

type yOrigin struct {
	System    string `yaml:"system"`
	Name      string `yaml:"name,omitempty"`
	ID        string `yaml:"id,omitempty"`
	Connector string `yaml:"connector,omitempty"`
	File      string `yaml:"file,omitempty"`
}

type yClause struct {
	Attribute string  `yaml:"attribute"`
	Operator  string  `yaml:"operator"`
	Value     *string `yaml:"value,omitempty"`
}

type yJoin struct {
	Source        string `yaml:"source"`
	Target        string `yaml:"target"`
	CaseSensitive bool   `yaml:"caseSensitive,omitempty"`
}

type yFlow struct {
	Target     string  `yaml:"target"`
	Source     string  `yaml:"source,omitempty"`
	Constant   *string `yaml:"constant,omitempty"`
	Expression string  `yaml:"expression,omitempty"`
	ApplyOnce  bool    `yaml:"applyOnce,omitempty"`
	Merge      string  `yaml:"merge,omitempty"`
}

type yMVFile struct {
	Metaverse struct {
		ObjectTypes []yClass `yaml:"objectTypes"`
	} `yaml:"metaverse"`
}

type yClass struct {
	Name       string  `yaml:"name"`
	Attributes []yAttr `yaml:"attributes"`
}

type yAttr struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	MultiValued bool   `yaml:"multiValued,omitempty"`
}

func toYAML(r *idsync.SyncRule) yRule {
	y := yRule{
		Name: r.Name, Description: r.Description, ImmutableTag: r.ImmutableTag,
		Direction: r.Direction.String(), Connector: r.Connector, CSObjectType: r.CSType, MVObjectType: r.MVType,
		LinkType: r.LinkType.String(), Precedence: r.Precedence, Enabled: !r.Disabled, PasswordSync: r.PasswordSync,
		OperatorPrecedence: r.OperatorPrecedence,
	}
	if o := r.Origin; o != nil {
		y.Origin = &yOrigin{System: o.System, Name: o.Name, ID: o.ID, Connector: o.Connector, File: o.File}
	}
	for _, g := range r.Scope {
		var yg []yClause
		for _, c := range g {
			yc := yClause{Attribute: c.Attr, Operator: string(c.Op)}
			if c.Op != idsync.ScopeIsNull && c.Op != idsync.ScopeIsNotNull {
				v := c.Value
				yc.Value = &v
			}
			yg = append(yg, yc)
		}
		y.Scope = append(y.Scope, yg)
	}
	for _, g := range r.Join {
		var yg []yJoin
		for _, c := range g {
			yg = append(yg, yJoin{Source: c.Source, Target: c.Target, CaseSensitive: c.CaseSensitive})
		}
		y.Join = append(y.Join, yg)
	}
	for _, f := range r.Flows {
		yf := yFlow{Target: f.Target, ApplyOnce: f.ApplyOnce}
		if f.Merge != idsync.MergeUpdate {
			yf.Merge = f.Merge.String()
		}
		switch f.Type {
		case idsync.FlowDirect:
			yf.Source = f.Source
		case idsync.FlowConstant:
			c := f.Constant
			yf.Constant = &c
		case idsync.FlowExpression:
			yf.Expression = f.Expression
		}
		y.Flows = append(y.Flows, yf)
	}
	return y
}

// RuleYAML renders one rule as an idsync configuration file.
func RuleYAML(r *idsync.SyncRule) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Imported from Entra Connect by `idsync rules import-aadc`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(yRuleFile{Rules: []yRule{toYAML(r)}}); err != nil {
		return nil, fmt.Errorf("aadc: render rule %q: %w", r.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MetaverseYAML renders a metaverse schema as an idsync configuration file.
func MetaverseYAML(s *idsync.Schema) ([]byte, error) {
	var f yMVFile
	for _, c := range s.Classes {
		yc := yClass{Name: c.Name}
		for _, a := range c.Attrs {
			yc.Attributes = append(yc.Attributes, yAttr{Name: a.Name, Type: a.Type.String(), MultiValued: a.MultiValued})
		}
		f.Metaverse.ObjectTypes = append(f.Metaverse.ObjectTypes, yc)
	}
	var buf bytes.Buffer
	buf.WriteString("# Imported from Entra Connect (MV.xml) by `idsync rules import-aadc`.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("aadc: render metaverse: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FileName is the file a rule is written to: its precedence and a slug of
// its name ("106-in-from-ad-user-common.yaml").
func FileName(r *idsync.SyncRule) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(r.Name) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if c < 128 {
				b.WriteRune(c)
				dash = false
				continue
			}
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.TrimSuffix(b.String(), "-")
	if len(slug) > 80 {
		slug = slug[:80]
	}
	return fmt.Sprintf("%03d-%s.yaml", r.Precedence, slug)
}

// Write writes the converted rules to dir/rules/ (one file per rule) and
// the metaverse schema to dir/metaverse.yaml. Each file is written to a
// temporary name and renamed, so an interrupted write leaves no half file.
// It returns the paths written.
func (res *Result) Write(dir string) ([]string, error) {
	rdir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, fmt.Errorf("aadc: create %s: %w", rdir, err)
	}
	var written []string
	names := map[string]int{}
	for _, r := range res.Rules {
		b, err := RuleYAML(r)
		if err != nil {
			return written, err
		}
		name := FileName(r)
		names[name]++
		if n := names[name]; n > 1 {
			name = strings.TrimSuffix(name, ".yaml") + fmt.Sprintf("-%d.yaml", n)
		}
		p := filepath.Join(rdir, name)
		if err := writeFile(p, b); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	if res.Metaverse != nil {
		b, err := MetaverseYAML(res.Metaverse)
		if err != nil {
			return written, err
		}
		p := filepath.Join(dir, "metaverse.yaml")
		if err := writeFile(p, b); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".import-*")
	if err != nil {
		return fmt.Errorf("aadc: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("aadc: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("aadc: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("aadc: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("aadc: write %s: %w", path, err)
	}
	return nil
}
