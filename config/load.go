package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// Defaults.
const (
	DefaultStore             = "sqlite:idsync.db"
	DefaultDeletionThreshold = 500
	DefaultPageSize          = 1000
	DefaultInterval          = 30 * time.Minute
)

// Option changes how Load reads a configuration.
type Option func(*options)

type options struct {
	fsys fs.FS
}

// WithFS makes Load read dir from fsys (an embedded example, a test's
// fstest.MapFS) instead of the operating system. Error positions then
// name files by their path in fsys.
func WithFS(fsys fs.FS) Option { return func(o *options) { o.fsys = fsys } }

// File is one configuration file: the name errors print and its content.
type File struct {
	Name string
	Data []byte
}

// Load reads every *.yaml and *.yml file under dir (recursively, in path
// order, skipping names that start with a dot), merges them and validates
// the result against reg. Errors in the configuration come back together
// as an *Errors; an unreadable directory is an ordinary error.
//
// Files are named in errors by their path as given when dir is relative
// ("conf/rules.yaml" for Load("conf", ...)), and relative to dir's parent
// when dir is absolute ("idsync/rules.yaml" for Load("/etc/idsync", ...)).
func Load(dir string, reg *connector.Registry, opts ...Option) (*Config, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	fsys, root, prefix := o.fsys, ".", dir
	if fsys == nil {
		fsys, root = os.DirFS(dir), "."
		if filepath.IsAbs(dir) {
			prefix = filepath.Base(dir)
		}
	} else {
		root, prefix = path.Clean(dir), path.Clean(dir)
	}
	var names []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("config: no .yaml or .yml files in %s", dir)
	}
	sort.Strings(names)
	files := make([]File, 0, len(names))
	for _, p := range names {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		name := p
		if o.fsys == nil {
			rel := p
			if root != "." {
				rel = strings.TrimPrefix(p, root+"/")
			}
			name = filepath.ToSlash(filepath.Join(prefix, filepath.FromSlash(rel)))
		}
		files = append(files, File{Name: name, Data: data})
	}
	return LoadFiles(dir, files, reg)
}

// LoadFiles is Load for files already read, decoded in the order given.
// dir is the configuration directory relative paths resolve against.
func LoadFiles(dir string, files []File, reg *connector.Registry) (*Config, error) {
	l := &loader{
		reg: reg,
		cfg: &Config{Dir: dir, Metaverse: &idsync.Schema{}, reg: reg, pos: newPositions()},
	}
	for _, f := range files {
		l.file(f)
	}
	l.finish()
	err := l.cfg.validate(&l.errs)
	if err != nil {
		return nil, err
	}
	return l.cfg, nil
}

type loader struct {
	reg  *connector.Registry
	cfg  *Config
	errs errorList

	storeAt, cycleAt string // where store and cycle were set
	storeSet         bool
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// file decodes every document of one file.
func (l *loader) file(f File) {
	src := &source{name: f.Name, data: f.Data, errs: &l.errs}
	defer func() {
		// yaml.v3 has panicked on hostile input before: report, don't crash.
		if r := recover(); r != nil {
			l.errs.add(Pos{File: f.Name}, "invalid YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			p := Pos{File: f.Name}
			if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
				p.Col = 1 // the parser reports no column
				msg = m[2]
			}
			l.errs.add(p, "invalid YAML: %s", msg)
			return
		}
		l.document(src, &doc)
	}
}

var topKeys = []string{"store", "cycle", "metaverse", "connectors", "connector", "rules"}

func (l *loader) document(s *source, doc *yaml.Node) {
	root := deref(doc)
	if isNull(root) {
		return
	}
	if expandedSize(root, map[*yaml.Node]int{}, 0) > maxExpanded {
		s.errorf(root, "the document's aliases expand to more than %d nodes", maxExpanded)
		return
	}
	m := s.mapping(root, "configuration", topKeys...)
	if m == nil {
		return
	}
	if m.has("store") {
		if l.storeSet {
			s.errorf(m.keys["store"], "store already set at %s", l.storeAt)
		} else if v, n, ok := m.scalar("store"); ok {
			l.storeSet, l.storeAt = true, s.where(n)
			if strings.TrimSpace(v) == "" {
				s.errorf(n, "store must not be empty")
			}
			l.cfg.Store = v
			l.cfg.pos.set(l.cfg, "store", s.pos(n))
		}
	}
	if m.has("cycle") {
		if l.cycleAt != "" {
			s.errorf(m.keys["cycle"], "cycle already set at %s", l.cycleAt)
		} else {
			l.cycleAt = s.where(m.get("cycle"))
			l.cycle(s, m.get("cycle"))
		}
	}
	if m.has("metaverse") {
		l.metaverse(s, m.get("metaverse"))
	}
	if m.has("connector") {
		l.connector(s, m.get("connector"))
	}
	for _, n := range m.seq("connectors") {
		l.connector(s, n)
	}
	for _, n := range m.seq("rules") {
		l.rule(s, n)
	}
}

// maxExpanded bounds the size of a document with its aliases expanded,
// which every walk over it is linear in (a "billion laughs" file is tiny
// but expands exponentially).
const maxExpanded = 1 << 20

// expandedSize counts the nodes of n with aliases expanded, stopping past
// maxExpanded; memo holds finished counts (-1 marks a node in progress,
// so that a cycle counts as too big).
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		if v < 0 {
			return maxExpanded + 1
		}
		return v
	}
	if depth > 10000 {
		return maxExpanded + 1
	}
	memo[n] = -1
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		size += expandedSize(c, memo, depth+1)
		if size > maxExpanded {
			break
		}
	}
	size = min(size, maxExpanded+1)
	memo[n] = size
	return size
}

func (l *loader) cycle(s *source, n *yaml.Node) {
	m := s.mapping(n, "cycle", "interval", "import", "sync", "export")
	if m == nil {
		return
	}
	if v, n, ok := m.scalar("interval"); ok {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			s.errorf(n, "cycle: interval: want a duration such as 30m or 1h, got %q", v)
		case d <= 0:
			s.errorf(n, "cycle: interval must be positive")
		default:
			l.cfg.Cycle.Interval = d
		}
	}
	set := func(key string, dst *string) {
		if v, n, ok := m.scalar(key); ok {
			*dst = v
			l.cfg.pos.set(l.cfg, "cycle."+key, s.pos(n))
		}
	}
	set("import", &l.cfg.Cycle.ImportProfile)
	set("sync", &l.cfg.Cycle.SyncProfile)
	set("export", &l.cfg.Cycle.ExportProfile)
}

var (
	mvKeys        = []string{"objectTypes"}
	classKeys     = []string{"name", "deletion", "attributes"}
	attrKeys      = []string{"name", "type", "multiValued"}
	deletionKeys  = []string{"when", "connectors"}
	deletionWhens = []string{"last-link", "connector-link-removed"}
)

func (l *loader) metaverse(s *source, n *yaml.Node) {
	m := s.mapping(n, "metaverse", mvKeys...)
	if m == nil {
		return
	}
	for _, cn := range m.seq("objectTypes") {
		cm := s.mapping(cn, "metaverse object type", classKeys...)
		if cm == nil {
			continue
		}
		class := idsync.ObjectClass{Name: cm.str("name")}
		if class.Name != "" {
			cm.what = fmt.Sprintf("metaverse object type %q", class.Name)
		}
		i := len(l.cfg.Metaverse.Classes)
		key := mvKey(i)
		l.cfg.pos.set(l.cfg.Metaverse, key, s.pos(cm.node))
		l.cfg.pos.set(l.cfg.Metaverse, key+".name", cm.posOf("name"))
		if cm.has("deletion") {
			dm := s.mapping(cm.get("deletion"), cm.what+": deletion", deletionKeys...)
			if dm != nil {
				l.cfg.pos.set(l.cfg.Metaverse, key+".deletion", s.pos(dm.node))
				when, wn, _ := dm.scalar("when")
				conns := dm.strings("connectors")
				switch {
				case when == "" && !dm.has("when"):
					s.errorf(dm.node, "%s: deletion: when is required (%s)", cm.what, strings.Join(deletionWhens, " or "))
				case when == "last-link":
					if len(conns) > 0 {
						s.errorf(dm.get("connectors"), "%s: deletion: connectors are only allowed with when: connector-link-removed", cm.what)
					}
				case when == "connector-link-removed":
					if len(conns) == 0 {
						s.errorf(dm.node, "%s: deletion: when: connector-link-removed needs connectors", cm.what)
					}
					class.DeletionRule.Connectors = conns
					l.cfg.pos.set(l.cfg.Metaverse, key+".deletion.connectors", dm.posOf("connectors"))
				default:
					s.errorf(wn, "%s: deletion: unknown when %q (want %s)", cm.what, when, strings.Join(deletionWhens, " or "))
				}
			}
		}
		for _, an := range cm.seq("attributes") {
			am := s.mapping(an, cm.what+": attribute", attrKeys...)
			if am == nil {
				continue
			}
			a := idsync.AttrDef{Name: am.str("name")}
			if a.Name != "" {
				am.what = fmt.Sprintf("%s: attribute %q", cm.what, a.Name)
			}
			if v, tn, ok := am.scalar("type"); ok {
				t, err := idsync.ParseAttrType(v)
				if err != nil {
					s.errorf(tn, "%s: %v", am.what, err)
					t = idsync.TypeString
				}
				a.Type = t
			}
			a.MultiValued = am.boolean("multiValued", false)
			ak := fmt.Sprintf("%s.attrs.%d", key, len(class.Attrs))
			l.cfg.pos.set(l.cfg.Metaverse, ak, s.pos(am.node))
			l.cfg.pos.set(l.cfg.Metaverse, ak+".name", am.posOf("name"))
			class.Attrs = append(class.Attrs, a)
		}
		l.cfg.Metaverse.Classes = append(l.cfg.Metaverse.Classes, class)
	}
}

func mvKey(i int) string { return "classes." + strconv.Itoa(i) }

var connectorKeys = []string{
	"name", "type", "settings", "capabilities", "objectTypes", "attributes", "partitions",
	"deprovision", "deletionThreshold", "pageSize", "params", "profiles", "matching",
}

func (l *loader) connector(s *source, n *yaml.Node) {
	m := s.mapping(n, "connector", connectorKeys...)
	if m == nil {
		return
	}
	c := &Connector{Source: s.where(m.node), Deprovision: "delete", DeletionThreshold: DefaultDeletionThreshold, PageSize: DefaultPageSize}
	c.Name = m.str("name")
	if c.Name != "" {
		m.what = fmt.Sprintf("connector %q", c.Name)
	}
	ps := l.cfg.pos
	ps.set(c, "", s.pos(m.node))
	for _, k := range []string{"name", "type", "settings", "deprovision", "deletionThreshold", "pageSize", "partitions", "objectTypes", "capabilities"} {
		if m.has(k) {
			ps.set(c, k, m.posOf(k))
		}
	}
	c.Type = m.str("type")
	c.ObjectTypes = m.strings("objectTypes")
	c.Attributes = m.strings("attributes")
	c.Partitions = m.strings("partitions")
	if m.has("deprovision") {
		c.Deprovision = m.str("deprovision")
	}
	if n := m.get("deletionThreshold"); !isNull(n) {
		if n.Kind == yaml.ScalarNode && strings.EqualFold(n.Value, "none") {
			c.DeletionThreshold = -1
		} else if v, ok := m.integer("deletionThreshold"); ok {
			if v == 0 || v < -1 {
				s.errorf(n, "%s: deletionThreshold must be positive, or none (or -1) to disable it", m.what)
			} else {
				c.DeletionThreshold = v
			}
		}
	}
	if v, ok := m.integer("pageSize"); ok {
		if v <= 0 {
			s.errorf(m.get("pageSize"), "%s: pageSize must be positive", m.what)
		} else {
			c.PageSize = v
		}
	}

	// Params: Connector.ID defaults to the connector's name.
	c.Params = map[string]string{}
	if pn := m.get("params"); !isNull(pn) {
		if pm := s.mapping(pn, m.what+": params"); pm != nil {
			for i := 0; i+1 < len(pm.node.Content); i += 2 {
				k, v := deref(pm.node.Content[i]), deref(pm.node.Content[i+1])
				if k == nil || k.Kind != yaml.ScalarNode {
					continue // reported by mapping
				}
				if v == nil || v.Kind != yaml.ScalarNode {
					s.errorf(v, "%s: params: %s: want a string, got %s", m.what, k.Value, describe(v))
					continue
				}
				if v.Tag == "!!null" {
					c.Params[k.Value] = ""
				} else {
					c.Params[k.Value] = v.Value
				}
			}
		}
	}
	if _, ok := c.Params["Connector.ID"]; !ok && c.Name != "" {
		c.Params["Connector.ID"] = c.Name
	}

	// Settings: refuse secrets in clear whatever the type, then decode.
	sn := m.get("settings")
	secretsOK := true
	if !isNull(sn) {
		before := len(l.errs.list)
		checkSecrets(s, sn, m.what+": settings", 0)
		secretsOK = len(l.errs.list) == before
	}
	typ, known := connector.Type{}, false
	if l.reg != nil && c.Type != "" {
		typ, known = l.reg.Lookup(c.Type)
	}
	if known {
		cfg := typ.NewConfig()
		if cfg != nil && secretsOK && decodeInto(s, sn, cfg, fmt.Sprintf("%s: settings", m.what)) {
			c.Settings = cfg
		}
		c.Capabilities = typ.Capabilities
		if c.Settings != nil {
			if cp, ok := c.Settings.(connector.Capabler); ok {
				c.Capabilities = safeCapabilities(cp, c.Capabilities)
			}
		}
	}
	if cn := m.get("capabilities"); !isNull(cn) {
		caps := c.Capabilities
		if decodeInto(s, cn, &caps, m.what+": capabilities") {
			c.Capabilities = caps
		}
	}

	if mn := m.get("matching"); !isNull(mn) {
		c.Matching = l.matching(s, c, mn, m.what)
	}

	// Profiles.
	if pn := m.get("profiles"); !isNull(pn) {
		if pm := s.mapping(pn, m.what+": profiles"); pm != nil {
			c.Profiles = map[string]*idsync.RunProfile{}
			for i := 0; i+1 < len(pm.node.Content); i += 2 {
				k := deref(pm.node.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode {
					continue
				}
				if _, dup := c.Profiles[k.Value]; dup {
					continue // reported by mapping
				}
				p := l.profile(s, c, k.Value, pm.node.Content[i+1], fmt.Sprintf("%s: profile %q", m.what, k.Value))
				ps.set(c, "profiles."+k.Value, s.pos(k))
				c.Profiles[k.Value] = p
				c.ProfileOrder = append(c.ProfileOrder, k.Value)
			}
		}
	}
	if len(c.Profiles) == 0 {
		c.Profiles, c.ProfileOrder = DefaultProfiles(c.Capabilities)
	}
	l.cfg.Connectors = append(l.cfg.Connectors, c)
}

// safeCapabilities calls a Config's Capabilities, which runs code from a
// connector package on a half-validated Config: a panic keeps the defaults.
func safeCapabilities(cp connector.Capabler, def connector.Capabilities) (caps connector.Capabilities) {
	defer func() {
		if recover() != nil {
			caps = def
		}
	}()
	return cp.Capabilities()
}

// DefaultProfiles returns the profiles of a connector that declares none:
// full-import, delta-import (when caps has DeltaImport), full-sync,
// delta-sync, export and full-import-delta-sync, each of one step of the
// same name.
func DefaultProfiles(caps connector.Capabilities) (map[string]*idsync.RunProfile, []string) {
	profiles := map[string]*idsync.RunProfile{}
	var order []string
	for _, t := range idsync.StepTypes {
		if t == idsync.StepDeltaImport && !caps.DeltaImport {
			continue
		}
		profiles[string(t)] = &idsync.RunProfile{Name: string(t), Steps: []idsync.RunStep{{Type: t}}}
		order = append(order, string(t))
	}
	return profiles, order
}

var stepKeys = []string{"type", "partition", "pageSize"}

func (l *loader) profile(s *source, c *Connector, name string, n *yaml.Node, what string) *idsync.RunProfile {
	p := &idsync.RunProfile{Name: name, Steps: []idsync.RunStep{}}
	n = deref(n)
	var items []*yaml.Node
	switch {
	case isNull(n):
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	case n.Kind == yaml.ScalarNode, n.Kind == yaml.MappingNode:
		items = []*yaml.Node{n} // a profile of one step
	default:
		s.errorf(n, "%s: want a list of steps, got %s", what, describe(n))
	}
	for _, it := range items {
		it = deref(it)
		var step idsync.RunStep
		var tn *yaml.Node
		var text string
		switch {
		case it != nil && it.Kind == yaml.ScalarNode && it.Tag != "!!null":
			tn, text = it, it.Value
		case it != nil && it.Kind == yaml.MappingNode:
			sm := s.mapping(it, what+": step", stepKeys...)
			if sm == nil {
				continue
			}
			var ok bool
			if text, tn, ok = sm.scalar("type"); !ok {
				if !sm.has("type") {
					s.errorf(it, "%s: step: type is required", what)
				}
				continue
			}
			step.Partition = sm.str("partition")
			if v, ok := sm.integer("pageSize"); ok {
				if v <= 0 {
					s.errorf(sm.get("pageSize"), "%s: step: pageSize must be positive", what)
				} else {
					step.PageSize = v
				}
			}
			if sm.has("partition") {
				l.cfg.pos.set(c, fmt.Sprintf("profiles.%s.%d.partition", name, len(p.Steps)), sm.posOf("partition"))
			}
		default:
			s.errorf(it, "%s: a step must be a step type or a mapping, got %s", what, describe(it))
			continue
		}
		t, err := idsync.ParseStepType(text)
		if err != nil {
			s.errorf(tn, "%s: %v", what, err)
			continue
		}
		step.Type = t
		l.cfg.pos.set(c, fmt.Sprintf("profiles.%s.%d", name, len(p.Steps)), s.pos(tn))
		p.Steps = append(p.Steps, step)
	}
	return p
}

var (
	ruleKeys = []string{
		"name", "description", "immutableTag", "direction", "connector", "csObjectType", "mvObjectType",
		"linkType", "precedence", "enabled", "passwordSync", "scope", "join", "flows",
		"operatorPrecedence", "origin",
	}
	originKeys = []string{"system", "name", "id", "connector", "file"}
	clauseKeys = []string{"attribute", "operator", "value"}
	joinKeys   = []string{"source", "target", "caseSensitive"}
	flowKeys   = []string{"target", "source", "constant", "expression", "applyOnce", "merge"}
)

func (l *loader) rule(s *source, n *yaml.Node) {
	m := s.mapping(n, "rule", ruleKeys...)
	if m == nil {
		return
	}
	r := &idsync.SyncRule{Source: s.where(m.node)}
	r.Name = m.str("name")
	if r.Name != "" {
		m.what = fmt.Sprintf("rule %q", r.Name)
	}
	ps := l.cfg.pos
	ps.set(r, "", s.pos(m.node))
	for _, k := range []string{"name", "connector", "csObjectType", "mvObjectType", "linkType", "precedence", "direction"} {
		if m.has(k) {
			ps.set(r, k, m.posOf(k))
		}
	}
	r.Description = m.str("description")
	r.ImmutableTag = m.str("immutableTag")
	r.Connector = m.str("connector")
	r.CSType = m.str("csObjectType")
	r.MVType = m.str("mvObjectType")
	ok := true
	if v, dn, present := m.scalar("direction"); present {
		d, err := idsync.ParseDirection(v)
		if err != nil {
			s.errorf(dn, "%s: %v", m.what, err)
			ok = false
		}
		r.Direction = d
	} else {
		if !m.has("direction") {
			s.errorf(m.node, "%s: direction is required (inbound or outbound)", m.what)
		}
		ok = false
	}
	r.LinkType = idsync.LinkJoin
	if v, ln, present := m.scalar("linkType"); present {
		t, err := idsync.ParseLinkType(v)
		if err != nil {
			s.errorf(ln, "%s: %v", m.what, err)
		}
		r.LinkType = t
	}
	if v, present := m.integer("precedence"); present {
		r.Precedence = v
	} else {
		if !m.has("precedence") {
			s.errorf(m.node, "%s: precedence is required", m.what)
		}
		ok = false
	}
	r.Disabled = !m.boolean("enabled", true)
	r.PasswordSync = m.boolean("passwordSync", false)
	if v, pn, present := m.scalar("operatorPrecedence"); present {
		switch v {
		case idsync.PrecedenceLeftToRight, idsync.PrecedenceConventional:
			r.OperatorPrecedence = v
		default:
			s.errorf(pn, "%s: operatorPrecedence %q: want %s or %s", m.what, v, idsync.PrecedenceLeftToRight, idsync.PrecedenceConventional)
		}
	}
	if m.has("origin") {
		if om := s.mapping(m.get("origin"), m.what+": origin", originKeys...); om != nil {
			r.Origin = &idsync.RuleOrigin{
				System: om.str("system"), Name: om.str("name"), ID: om.str("id"),
				Connector: om.str("connector"), File: om.str("file"),
			}
			if r.Origin.System == "" {
				s.errorf(om.node, "%s: origin: system is required", m.what)
			}
		}
	}

	// Scope: a list of groups, each a list of clauses. A list of clauses
	// directly under scope is refused: it is ambiguous.
	for gi, gn := range m.seq("scope") {
		gn = deref(gn)
		if gn == nil || gn.Kind != yaml.SequenceNode {
			s.errorf(gn, "%s: scope: each group must be a list of clauses, got %s (write scope: [[{attribute: ..., operator: ..., value: ...}]])", m.what, describe(gn))
			continue
		}
		var g idsync.ScopeGroup
		ps.set(r, fmt.Sprintf("scope.%d", gi), s.pos(gn))
		for _, cn := range gn.Content {
			cm := s.mapping(cn, m.what+": scope clause", clauseKeys...)
			if cm == nil {
				continue
			}
			key := fmt.Sprintf("scope.%d.%d", gi, len(g))
			ps.set(r, key, s.pos(cm.node))
			ps.set(r, key+".operator", cm.posOf("operator"))
			ps.set(r, key+".value", cm.posOf("value"))
			cl := idsync.ScopeClause{Attr: cm.str("attribute")}
			op := cm.str("operator")
			if parsed, err := idsync.ParseScopeOp(op); err == nil {
				cl.Op = parsed
			} else {
				cl.Op = idsync.ScopeOp(op) // Validate reports it
			}
			if cm.has("value") {
				cl.Value = cm.str("value")
				ps.set(r, key+".hasValue", cm.posOf("value"))
			}
			g = append(g, cl)
		}
		r.Scope = append(r.Scope, g)
	}

	for gi, gn := range m.seq("join") {
		gn = deref(gn)
		if gn == nil || gn.Kind != yaml.SequenceNode {
			s.errorf(gn, "%s: join: each group must be a list of conditions, got %s (write join: [[{source: ..., target: ...}]])", m.what, describe(gn))
			continue
		}
		var g idsync.JoinGroup
		ps.set(r, fmt.Sprintf("join.%d", gi), s.pos(gn))
		for _, cn := range gn.Content {
			cm := s.mapping(cn, m.what+": join condition", joinKeys...)
			if cm == nil {
				continue
			}
			key := fmt.Sprintf("join.%d.%d", gi, len(g))
			ps.set(r, key, s.pos(cm.node))
			ps.set(r, key+".source", cm.posOf("source"))
			ps.set(r, key+".target", cm.posOf("target"))
			g = append(g, idsync.JoinCondition{
				Source:        cm.str("source"),
				Target:        cm.str("target"),
				CaseSensitive: cm.boolean("caseSensitive", false),
			})
		}
		r.Join = append(r.Join, g)
	}

	for _, fn := range m.seq("flows") {
		fm := s.mapping(fn, m.what+": flow", flowKeys...)
		if fm == nil {
			continue
		}
		f := idsync.Flow{Target: fm.str("target")}
		if f.Target != "" {
			fm.what = fmt.Sprintf("%s: flow %q", m.what, f.Target)
		}
		key := fmt.Sprintf("flows.%d", len(r.Flows))
		ps.set(r, key, s.pos(fm.node))
		ps.set(r, key+".target", fm.posOf("target"))
		var kinds []string
		for _, k := range []string{"source", "constant", "expression"} {
			if _, present := fm.keys[k]; present {
				kinds = append(kinds, k)
			}
		}
		switch len(kinds) {
		case 0:
			s.errorf(fm.node, "%s: needs one of source, constant or expression", fm.what)
			continue
		case 1:
		default:
			s.errorf(fm.keys[kinds[1]], "%s: has both %s and %s (want exactly one of source, constant or expression)", fm.what, kinds[0], kinds[1])
			continue
		}
		vn := fm.get(kinds[0])
		ps.set(r, key+".value", s.pos(vn))
		switch kinds[0] {
		case "source":
			f.Type, f.Source = idsync.FlowDirect, fm.str("source")
		case "constant":
			f.Type = idsync.FlowConstant
			if isNull(vn) {
				s.errorf(vn, "%s: constant needs a value (use expression: NULL to flow nothing)", fm.what)
				continue
			}
			f.Constant = fm.str("constant")
		case "expression":
			f.Type = idsync.FlowExpression
			f.Expression = fm.str("expression")
			if vn != nil && vn.Kind == yaml.ScalarNode {
				l.cfg.pos.setExpr(r, len(r.Flows), f.Expression, exprPositions(s, vn))
			}
		}
		f.ApplyOnce = fm.boolean("applyOnce", false)
		if v, mn, present := fm.scalar("merge"); present {
			t, err := idsync.ParseMergeType(v)
			if err != nil {
				s.errorf(mn, "%s: %v", fm.what, err)
			}
			f.Merge = t
			ps.set(r, key+".merge", s.pos(mn))
		}
		r.Flows = append(r.Flows, f)
	}
	if ok {
		l.cfg.Rules = append(l.cfg.Rules, r)
	}
}

// finish applies defaults that depend on every file.
func (l *loader) finish() {
	c := l.cfg
	if !l.storeSet {
		c.Store = DefaultStore
	}
	c.Store = resolveStore(c.Dir, c.Store)
	if c.Cycle.Interval == 0 {
		c.Cycle.Interval = DefaultInterval
	}
	if c.Cycle.ImportProfile == "" {
		c.Cycle.ImportProfile = string(idsync.StepDeltaImport)
	}
	if c.Cycle.SyncProfile == "" {
		c.Cycle.SyncProfile = string(idsync.StepDeltaSync)
	}
	if c.Cycle.ExportProfile == "" {
		c.Cycle.ExportProfile = string(idsync.StepExport)
	}
}

// resolveStore makes a relative SQLite path absolute against dir.
func resolveStore(dir, dsn string) string {
	p, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok && !strings.Contains(dsn, "://") {
		p, ok = dsn, true // a bare path names an SQLite file
	}
	if !ok || p == "" || p == ":memory:" || strings.HasPrefix(p, "file:") || filepath.IsAbs(p) {
		return dsn
	}
	return "sqlite:" + filepath.Join(dir, p)
}
