package aadc

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/idsync/idsync"
)

// The PowerShell the Synchronization Rules Editor exports is a fixed
// sequence of cmdlet calls with named parameters, backtick line
// continuations, single-quoted strings, @(...) arrays, comma lists and
// -OutVariable. This file reads that subset (plus $x = assignments,
// $x.Property = value, pipes into Add-ADSyncRule and New-ADSyncJoinCondition)
// without running anything; any other construct is a Problem.

type psKind int

const (
	psEOF    psKind = iota
	psEnd           // end of statement: newline or ;
	psParam         // -Name
	psString        // quoted string
	psWord          // bare word: command name, number, enum value
	psVar           // $name (Value holds the name; Index true for $name[n])
	psLParen        // ( or @(
	psRParen
	psComma
	psAssign
	psPipe
	psDot // .Property after a variable (Value holds the property)
)

type psToken struct {
	kind  psKind
	val   string
	line  int
	array bool // psLParen: @(
}

type psLexer struct {
	src  []rune
	pos  int
	line int
}

func (l *psLexer) peekc(o int) rune {
	if l.pos+o < len(l.src) {
		return l.src[l.pos+o]
	}
	return 0
}

func isWordRune(c rune) bool {
	return c != 0 && !unicode.IsSpace(c) && !strings.ContainsRune("()@,;|='\"`#{}$", c)
}

func (l *psLexer) next() (psToken, error) {
	for {
		c := l.peekc(0)
		switch {
		case c == 0:
			return psToken{kind: psEOF, line: l.line}, nil
		case c == '`' && (l.peekc(1) == '\n' || l.peekc(1) == '\r' || l.restIsBlank()):
			// Line continuation: skip to after the newline.
			l.pos++
			for l.peekc(0) != '\n' && l.peekc(0) != 0 {
				l.pos++
			}
			if l.peekc(0) == '\n' {
				l.pos++
				l.line++
			}
		case c == '\n':
			// A newline ends a statement, and inside @(...) a nested
			// command or an element.
			l.pos++
			l.line++
			return psToken{kind: psEnd, line: l.line - 1}, nil
		case c == ';':
			l.pos++
			return psToken{kind: psEnd, line: l.line}, nil
		case unicode.IsSpace(c):
			l.pos++
		case c == '#':
			for l.peekc(0) != '\n' && l.peekc(0) != 0 {
				l.pos++
			}
		case c == '<' && l.peekc(1) == '#':
			start := l.line
			l.pos += 2
			for !(l.peekc(0) == '#' && l.peekc(1) == '>') {
				if l.peekc(0) == 0 {
					return psToken{}, fmt.Errorf("line %d: unterminated <# comment", start)
				}
				if l.peekc(0) == '\n' {
					l.line++
				}
				l.pos++
			}
			l.pos += 2
		default:
			return l.token()
		}
	}
}

// restIsBlank reports whether only blanks follow a backtick up to the end
// of the line (a continuation with trailing spaces).
func (l *psLexer) restIsBlank() bool {
	for i := l.pos + 1; i < len(l.src); i++ {
		switch l.src[i] {
		case ' ', '\t', '\r':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

func (l *psLexer) token() (psToken, error) {
	line := l.line
	c := l.peekc(0)
	switch {
	case c == '@' && l.peekc(1) == '(':
		l.pos += 2
		return psToken{kind: psLParen, line: line, array: true}, nil
	case c == '@' && (l.peekc(1) == '\'' || l.peekc(1) == '"'):
		return l.hereString()
	case c == '(':
		l.pos++
		return psToken{kind: psLParen, line: line}, nil
	case c == ')':
		l.pos++
		return psToken{kind: psRParen, line: line}, nil
	case c == ',':
		l.pos++
		return psToken{kind: psComma, line: line}, nil
	case c == '|':
		l.pos++
		return psToken{kind: psPipe, line: line}, nil
	case c == '=':
		l.pos++
		return psToken{kind: psAssign, line: line}, nil
	case c == '\'':
		return l.single()
	case c == '"':
		return l.double()
	case c == '$':
		l.pos++
		start := l.pos
		for unicode.IsLetter(l.peekc(0)) || unicode.IsDigit(l.peekc(0)) || l.peekc(0) == '_' || l.peekc(0) == ':' {
			l.pos++
		}
		name := string(l.src[start:l.pos])
		if name == "" {
			return psToken{}, fmt.Errorf("line %d: a $ that names no variable", line)
		}
		// $name[0]: the index is dropped (-OutVariable makes one-element lists).
		if l.peekc(0) == '[' {
			for l.peekc(0) != ']' && l.peekc(0) != 0 && l.peekc(0) != '\n' {
				l.pos++
			}
			if l.peekc(0) != ']' {
				return psToken{}, fmt.Errorf("line %d: unterminated index after $%s", line, name)
			}
			l.pos++
		}
		return psToken{kind: psVar, val: name, line: line}, nil
	case c == '.' && l.pos > 0 && isWordRune(l.src[l.pos-1]) || c == '.' && l.pos > 0 && l.src[l.pos-1] == ']':
		l.pos++
		start := l.pos
		for isWordRune(l.peekc(0)) && l.peekc(0) != '.' {
			l.pos++
		}
		return psToken{kind: psDot, val: string(l.src[start:l.pos]), line: line}, nil
	case c == '-' && (unicode.IsLetter(l.peekc(1))):
		l.pos++
		start := l.pos
		for unicode.IsLetter(l.peekc(0)) || unicode.IsDigit(l.peekc(0)) || l.peekc(0) == '_' {
			l.pos++
		}
		name := string(l.src[start:l.pos])
		if l.peekc(0) == ':' {
			l.pos++ // -Switch:$false: the value follows as the next token
		}
		return psToken{kind: psParam, val: name, line: line}, nil
	case isWordRune(c):
		start := l.pos
		for isWordRune(l.peekc(0)) {
			l.pos++
		}
		return psToken{kind: psWord, val: string(l.src[start:l.pos]), line: line}, nil
	}
	return psToken{}, fmt.Errorf("line %d: unsupported character %q", line, c)
}

func (l *psLexer) single() (psToken, error) {
	line := l.line
	l.pos++
	var b strings.Builder
	for {
		c := l.peekc(0)
		switch {
		case c == 0:
			return psToken{}, fmt.Errorf("line %d: unterminated string", line)
		case c == '\'' && l.peekc(1) == '\'':
			b.WriteRune('\'')
			l.pos += 2
		case c == '\'':
			l.pos++
			return psToken{kind: psString, val: b.String(), line: line}, nil
		default:
			if c == '\n' {
				l.line++
			}
			b.WriteRune(c)
			l.pos++
		}
	}
}

func (l *psLexer) double() (psToken, error) {
	line := l.line
	l.pos++
	var b strings.Builder
	for {
		c := l.peekc(0)
		switch {
		case c == 0:
			return psToken{}, fmt.Errorf("line %d: unterminated string", line)
		case c == '"' && l.peekc(1) == '"':
			b.WriteRune('"')
			l.pos += 2
		case c == '"':
			l.pos++
			return psToken{kind: psString, val: b.String(), line: line}, nil
		case c == '`':
			e := l.peekc(1)
			l.pos += 2
			switch e {
			case 'n':
				b.WriteRune('\n')
			case 't':
				b.WriteRune('\t')
			case 'r':
				b.WriteRune('\r')
			case '0':
				b.WriteRune(0)
			case 0:
				return psToken{}, fmt.Errorf("line %d: unterminated string", line)
			default:
				b.WriteRune(e)
			}
		case c == '$' && (unicode.IsLetter(l.peekc(1)) || l.peekc(1) == '(' || l.peekc(1) == '{' || l.peekc(1) == '_'):
			return psToken{}, fmt.Errorf("line %d: a double-quoted string that expands a variable or subexpression cannot be read without running PowerShell", line)
		default:
			if c == '\n' {
				l.line++
			}
			b.WriteRune(c)
			l.pos++
		}
	}
}

// hereString reads @'...'@ (verbatim) and @"..."@ (no expansion allowed).
func (l *psLexer) hereString() (psToken, error) {
	line := l.line
	q := l.peekc(1)
	l.pos += 2
	for l.peekc(0) == ' ' || l.peekc(0) == '\t' || l.peekc(0) == '\r' {
		l.pos++
	}
	if l.peekc(0) != '\n' {
		return psToken{}, fmt.Errorf("line %d: a here-string must start a new line after @%c", line, q)
	}
	l.pos++
	l.line++
	var b strings.Builder
	for {
		if l.peekc(0) == 0 {
			return psToken{}, fmt.Errorf("line %d: unterminated here-string", line)
		}
		// The end marker is a line starting with q@.
		if l.peekc(0) == '\n' && l.peekc(1) == q && l.peekc(2) == '@' {
			l.pos += 3
			l.line++
			s := strings.TrimSuffix(b.String(), "\r")
			if q == '"' && strings.Contains(s, "$") {
				return psToken{}, fmt.Errorf("line %d: a double-quoted here-string with $ cannot be read without running PowerShell", line)
			}
			return psToken{kind: psString, val: s, line: line}, nil
		}
		if l.pos == 0 || (l.peekc(0) == q && l.peekc(1) == '@' && l.src[l.pos-1] == '\n') {
			l.pos += 2
			return psToken{kind: psString, val: "", line: line}, nil
		}
		if l.peekc(0) == '\n' {
			l.line++
		}
		b.WriteRune(l.peekc(0))
		l.pos++
	}
}

// psValue is an evaluated argument.
type psValue struct {
	str    string
	isStr  bool // a string, word or number
	bool   *bool
	null   bool
	list   []psValue
	isList bool
	obj    any // *psRuleVar, *psScope, *psJoin
	line   int
}

type psScope struct{ attr, value, op string }

type psJoin struct {
	cs, mv        string
	caseSensitive bool
}

type psRuleVar struct {
	r     *rule
	added bool
	line  int
}

// psCmd is one parsed command call.
type psCmd struct {
	name   string
	line   int
	named  map[string]psValue // lower-case parameter names
	order  []string
	pos    []psValue
	piped  *psValue
	assign string // $x = ...
}

type psParser struct {
	lx   *psLexer
	tok  psToken
	vars map[string]psValue // lower-case names
	file string
}

func (p *psParser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// parsePowerShell reads a Synchronization Rules Editor export.
func parsePowerShell(file string, data []byte) ([]*rule, []Problem) {
	src := strings.ReplaceAll(strings.TrimPrefix(string(data), "\ufeff"), "\r\n", "\n")
	p := &psParser{lx: &psLexer{src: []rune(src), line: 1}, vars: map[string]psValue{}, file: file}
	var probs []Problem
	var order []*psRuleVar
	fail := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: file, Element: fmt.Sprintf("line %d", line), Msg: fmt.Sprintf(format, args...)})
	}
	if err := p.advance(); err != nil {
		return nil, []Problem{{File: file, Msg: err.Error()}}
	}
	for p.tok.kind != psEOF {
		if p.tok.kind == psEnd {
			if err := p.advance(); err != nil {
				fail(p.lx.line, "%v", err)
				return nil, probs
			}
			continue
		}
		line := p.tok.line
		stmt, err := p.statement()
		if err != nil {
			fail(line, "%v", err)
			// Skip to the end of the statement.
			for p.tok.kind != psEnd && p.tok.kind != psEOF {
				if err := p.advance(); err != nil {
					return nil, probs
				}
			}
			continue
		}
		if stmt == nil {
			continue
		}
		if rv, err := p.run(stmt); err != nil {
			fail(stmt.line, "%s: %v", stmt.name, err)
		} else if rv != nil {
			order = append(order, rv)
		}
	}
	var rules []*rule
	for _, rv := range order {
		if !rv.added {
			rv.r.problem(fmt.Sprintf("line %d", rv.line), "New-ADSyncRule creates this rule but no Add-ADSyncRule adds it to the configuration")
		}
		rules = append(rules, rv.r)
	}
	return rules, probs
}

// statement parses one statement: a command call, $x = command,
// $x.Prop = value, or $x | Add-ADSyncRule.
func (p *psParser) statement() (*psCmd, error) {
	if p.tok.kind == psVar {
		name := p.tok.val
		line := p.tok.line
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case psDot:
			prop := p.tok.val
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != psAssign {
				return nil, fmt.Errorf("expected = after $%s.%s", name, prop)
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			return nil, p.setProp(name, prop, v)
		case psAssign:
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != psWord {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				p.vars[strings.ToLower(name)] = v
				return nil, p.expectEnd()
			}
			c, err := p.command()
			if err != nil {
				return nil, err
			}
			c.assign = name
			return c, nil
		case psPipe:
			if err := p.advance(); err != nil {
				return nil, err
			}
			c, err := p.command()
			if err != nil {
				return nil, err
			}
			v := p.vars[strings.ToLower(name)]
			c.piped = &v
			return c, nil
		}
		return nil, fmt.Errorf("unsupported statement starting with $%s (line %d)", name, line)
	}
	if p.tok.kind != psWord {
		return nil, fmt.Errorf("unsupported statement")
	}
	return p.command()
}

func (p *psParser) expectEnd() error {
	if p.tok.kind != psEnd && p.tok.kind != psEOF {
		return fmt.Errorf("unexpected %q at the end of the statement", p.tok.val)
	}
	return nil
}

// command parses Name [-Param [value]]... up to the end of the statement
// (or a closing parenthesis inside @(...)).
func (p *psParser) command() (*psCmd, error) {
	c := &psCmd{name: p.tok.val, line: p.tok.line, named: map[string]psValue{}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	for {
		switch p.tok.kind {
		case psEnd, psEOF, psRParen, psComma:
			return c, nil
		case psPipe:
			return nil, fmt.Errorf("a pipeline after %s is not supported", c.name)
		case psParam:
			name := strings.ToLower(p.tok.val)
			if err := p.advance(); err != nil {
				return nil, err
			}
			var v psValue
			switch p.tok.kind {
			case psParam, psEnd, psEOF, psRParen:
				t := true
				v = psValue{bool: &t, line: p.tok.line}
			default:
				var err error
				if v, err = p.value(); err != nil {
					return nil, err
				}
			}
			if _, dup := c.named[name]; dup {
				return nil, fmt.Errorf("parameter -%s given twice", name)
			}
			c.named[name] = v
			c.order = append(c.order, name)
		default:
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			c.pos = append(c.pos, v)
		}
	}
}

// value parses one argument, with a comma list.
func (p *psParser) value() (psValue, error) {
	first, err := p.item()
	if err != nil {
		return psValue{}, err
	}
	if p.tok.kind != psComma {
		return first, nil
	}
	list := psValue{isList: true, list: []psValue{first}, line: first.line}
	for p.tok.kind == psComma {
		if err := p.advance(); err != nil {
			return psValue{}, err
		}
		v, err := p.item()
		if err != nil {
			return psValue{}, err
		}
		list.list = append(list.list, v)
	}
	return list, nil
}

func (p *psParser) item() (psValue, error) {
	t := p.tok
	switch t.kind {
	case psString, psWord:
		if err := p.advance(); err != nil {
			return psValue{}, err
		}
		return psValue{str: t.val, isStr: true, line: t.line}, nil
	case psVar:
		if err := p.advance(); err != nil {
			return psValue{}, err
		}
		switch strings.ToLower(t.val) {
		case "true", "false":
			b := strings.EqualFold(t.val, "true")
			return psValue{bool: &b, line: t.line}, nil
		case "null":
			return psValue{null: true, line: t.line}, nil
		}
		v, ok := p.vars[strings.ToLower(t.val)]
		if !ok {
			return psValue{}, fmt.Errorf("line %d: variable $%s is not set", t.line, t.val)
		}
		if v.isList && len(v.list) == 1 {
			v = v.list[0]
		}
		return v, nil
	case psLParen:
		if err := p.advance(); err != nil {
			return psValue{}, err
		}
		list := psValue{isList: true, line: t.line}
		for p.tok.kind != psRParen {
			switch p.tok.kind {
			case psEOF:
				return psValue{}, fmt.Errorf("line %d: unclosed (", t.line)
			case psEnd, psComma:
				if err := p.advance(); err != nil {
					return psValue{}, err
				}
				continue
			case psWord:
				// A nested command, such as New-ADSyncJoinCondition.
				if strings.Contains(p.tok.val, "-") && !isNumber(p.tok.val) {
					c, err := p.command()
					if err != nil {
						return psValue{}, err
					}
					v, err := p.eval(c)
					if err != nil {
						return psValue{}, err
					}
					list.list = append(list.list, v)
					continue
				}
			}
			v, err := p.item()
			if err != nil {
				return psValue{}, err
			}
			list.list = append(list.list, v)
		}
		if err := p.advance(); err != nil {
			return psValue{}, err
		}
		if !t.array && len(list.list) == 1 {
			return list.list[0], nil
		}
		return list, nil
	}
	return psValue{}, fmt.Errorf("line %d: unexpected %s", t.line, describeTok(t))
}

func describeTok(t psToken) string {
	switch t.kind {
	case psEnd:
		return "end of statement"
	case psEOF:
		return "end of file"
	case psParam:
		return "-" + t.val
	case psRParen:
		return ")"
	case psComma:
		return ","
	case psAssign:
		return "="
	case psPipe:
		return "|"
	}
	return fmt.Sprintf("%q", t.val)
}

func isNumber(s string) bool {
	for i, c := range s {
		if !(unicode.IsDigit(c) || (i == 0 && c == '-')) {
			return false
		}
	}
	return s != ""
}

func (v psValue) text() string {
	switch {
	case v.isStr:
		return v.str
	case v.bool != nil:
		if *v.bool {
			return "True"
		}
		return "False"
	}
	return ""
}

func (v psValue) strings() []string {
	if !v.isList && !v.isStr && v.bool == nil {
		return nil // absent, $null or an object
	}
	if v.isList {
		var out []string
		for _, x := range v.list {
			out = append(out, x.text())
		}
		return out
	}
	if v.null {
		return nil
	}
	return []string{v.text()}
}

func (v psValue) truth() (bool, bool) {
	if v.bool != nil {
		return *v.bool, true
	}
	return parseBool(v.text())
}

const objectModel = "microsoft.identitymanagement.powershell.objectmodel."

// setProp handles $x.Property = value on a New-Object condition.
func (p *psParser) setProp(name, prop string, v psValue) error {
	x, ok := p.vars[strings.ToLower(name)]
	if ok && x.isList && len(x.list) == 1 {
		x = x.list[0]
	}
	switch o := x.obj.(type) {
	case *psScope:
		switch strings.ToLower(prop) {
		case "attribute":
			o.attr = v.text()
		case "comparisonvalue":
			o.value = v.text()
		case "comparisonoperator":
			o.op = v.text()
		default:
			return fmt.Errorf("unknown ScopeCondition property %s", prop)
		}
	case *psJoin:
		switch strings.ToLower(prop) {
		case "csattribute":
			o.cs = v.text()
		case "mvattribute":
			o.mv = v.text()
		case "casesensitive":
			b, ok := v.truth()
			if !ok {
				return fmt.Errorf("CaseSensitive: not a boolean: %q", v.text())
			}
			o.caseSensitive = b
		default:
			return fmt.Errorf("unknown JoinCondition property %s", prop)
		}
	default:
		return fmt.Errorf("$%s.%s: setting properties is supported on ScopeCondition and JoinCondition objects only", name, prop)
	}
	return nil
}

var psAllowed = map[string][]string{
	"new-adsyncrule": {"name", "identifier", "description", "direction", "precedence", "precedenceafter", "precedencebefore",
		"sourceobjecttype", "targetobjecttype", "connector", "linktype", "softdeleteexpiryinterval", "immutabletag",
		"enablepasswordsync", "disabled", "outvariable", "version"},
	"add-adsyncattributeflowmapping": {"synchronizationrule", "source", "destination", "flowtype", "valuemergetype", "expression", "executeonce", "outvariable"},
	"add-adsyncscopeconditiongroup":  {"synchronizationrule", "scopeconditions", "outvariable"},
	"add-adsyncjoinconditiongroup":   {"synchronizationrule", "joinconditions", "outvariable"},
	"add-adsyncrule":                 {"synchronizationrule"},
	"new-object":                     {"typename", "argumentlist", "outvariable"},
	"new-adsyncjoincondition":        {"csattribute", "mvattribute", "casesensitive", "outvariable"},
}

// Commands an export contains that change nothing.
var psIgnored = map[string]bool{"get-adsyncrule": true, "import-module": true, "write-host": true, "write-output": true, "write-verbose": true}

// run executes a top-level command; it returns the rule a New-ADSyncRule
// created.
func (p *psParser) run(c *psCmd) (*psRuleVar, error) {
	v, err := p.eval(c)
	if err != nil {
		return nil, err
	}
	if rv, ok := v.obj.(*psRuleVar); ok && strings.EqualFold(c.name, "New-ADSyncRule") {
		return rv, nil
	}
	return nil, nil
}

func (p *psParser) eval(c *psCmd) (psValue, error) {
	name := strings.ToLower(c.name)
	if psIgnored[name] {
		return psValue{}, nil
	}
	allowed, known := psAllowed[name]
	if !known {
		return psValue{}, fmt.Errorf("unsupported command %s: it is not part of a sync-rule export", c.name)
	}
	for _, k := range c.order {
		ok := false
		for _, a := range allowed {
			if a == k {
				ok = true
			}
		}
		if !ok {
			return psValue{}, fmt.Errorf("unknown parameter -%s", k)
		}
	}
	if len(c.pos) > 0 && name != "new-object" {
		return psValue{}, fmt.Errorf("positional arguments are not supported; name each parameter")
	}
	var out psValue
	switch name {
	case "new-adsyncrule":
		out = psValue{obj: p.newRule(c), line: c.line}
	case "new-object":
		typeName := c.named["typename"].text()
		args := c.pos
		if typeName == "" && len(args) > 0 {
			typeName, args = args[0].text(), args[1:]
		}
		if len(args) > 0 {
			return psValue{}, fmt.Errorf("positional arguments after the type name are not supported")
		}
		al := c.named["argumentlist"].strings()
		switch strings.TrimPrefix(strings.ToLower(typeName), objectModel) {
		case "scopecondition":
			sc := &psScope{}
			switch len(al) {
			case 0:
			case 3:
				sc.attr, sc.value, sc.op = al[0], al[1], al[2]
			default:
				return psValue{}, fmt.Errorf("ScopeCondition takes (attribute, value, operator), got %d arguments", len(al))
			}
			out = psValue{obj: sc, line: c.line}
		case "joincondition":
			jc := &psJoin{}
			switch len(al) {
			case 0:
			case 2, 3:
				jc.cs, jc.mv = al[0], al[1]
				if len(al) == 3 {
					b, ok := parseBool(al[2])
					if !ok {
						return psValue{}, fmt.Errorf("JoinCondition: case sensitivity %q is not a boolean", al[2])
					}
					jc.caseSensitive = b
				}
			default:
				return psValue{}, fmt.Errorf("JoinCondition takes (csAttribute, mvAttribute, caseSensitive), got %d arguments", len(al))
			}
			out = psValue{obj: jc, line: c.line}
		default:
			return psValue{}, fmt.Errorf("New-Object of type %q is not part of a sync-rule export", typeName)
		}
	case "new-adsyncjoincondition":
		jc := &psJoin{cs: c.named["csattribute"].text(), mv: c.named["mvattribute"].text()}
		if v, ok := c.named["casesensitive"]; ok {
			b, ok := v.truth()
			if !ok {
				return psValue{}, fmt.Errorf("-CaseSensitive: not a boolean: %q", v.text())
			}
			jc.caseSensitive = b
		}
		out = psValue{obj: jc, line: c.line}
	default:
		rv, err := p.ruleArg(c)
		if err != nil {
			return psValue{}, err
		}
		out = psValue{obj: rv, line: c.line}
		switch name {
		case "add-adsyncrule":
			rv.added = true
		case "add-adsyncattributeflowmapping":
			p.addFlow(rv.r, c)
		case "add-adsyncscopeconditiongroup":
			var g idsync.ScopeGroup
			for _, x := range flatten(c.named["scopeconditions"]) {
				sc, ok := x.obj.(*psScope)
				if !ok {
					return psValue{}, fmt.Errorf("-ScopeConditions: line %d: not a ScopeCondition", x.line)
				}
				g = append(g, clause(sc.attr, rv.r.scopeOp(fmt.Sprintf("line %d (scope condition %s)", x.line, sc.attr), sc.op), sc.value))
			}
			rv.r.Scope = append(rv.r.Scope, g)
		case "add-adsyncjoinconditiongroup":
			var g idsync.JoinGroup
			for _, x := range flatten(c.named["joinconditions"]) {
				jc, ok := x.obj.(*psJoin)
				if !ok {
					return psValue{}, fmt.Errorf("-JoinConditions: line %d: not a JoinCondition", x.line)
				}
				g = append(g, rv.r.joinCond(jc.cs, jc.mv, jc.caseSensitive))
			}
			rv.r.Join = append(rv.r.Join, g)
		}
	}
	if ov, ok := c.named["outvariable"]; ok {
		p.vars[strings.ToLower(strings.TrimPrefix(ov.text(), "$"))] = out
	}
	if c.assign != "" {
		p.vars[strings.ToLower(c.assign)] = out
	}
	return out, nil
}

func flatten(v psValue) []psValue {
	if !v.isList {
		if v.obj == nil && !v.isStr && v.bool == nil {
			return nil
		}
		return []psValue{v}
	}
	var out []psValue
	for _, x := range v.list {
		out = append(out, flatten(x)...)
	}
	return out
}

// ruleArg returns the rule a command works on (-SynchronizationRule or
// the pipeline).
func (p *psParser) ruleArg(c *psCmd) (*psRuleVar, error) {
	v, ok := c.named["synchronizationrule"]
	if !ok && c.piped != nil {
		v, ok = *c.piped, true
	}
	if v.isList && len(v.list) == 1 {
		v = v.list[0]
	}
	rv, isRule := v.obj.(*psRuleVar)
	if !ok || !isRule {
		return nil, fmt.Errorf("-SynchronizationRule must be a rule made by New-ADSyncRule")
	}
	return rv, nil
}

func (p *psParser) newRule(c *psCmd) *psRuleVar {
	r := newRule(p.file)
	elem := func(k string) string {
		return fmt.Sprintf("line %d (New-ADSyncRule -%s)", c.named[k].line, k)
	}
	get := func(k string) string { return c.named[k].text() }
	r.Name = get("name")
	r.Origin.ID = get("identifier")
	r.Description = get("description")
	r.ImmutableTag = get("immutabletag")
	r.Connector = get("connector")
	r.setDirection(elem("direction"), get("direction"))
	r.setPrecedence(elem("precedence"), get("precedence"))
	r.setLinkType(elem("linktype"), get("linktype"))
	r.softDelete(elem("softdeleteexpiryinterval"), get("softdeleteexpiryinterval"))
	r.setTypes(get("sourceobjecttype"), get("targetobjecttype"))
	for _, k := range []string{"disabled", "enablepasswordsync"} {
		v, ok := c.named[k]
		if !ok {
			continue
		}
		b, ok := v.truth()
		if !ok {
			r.problem(elem(k), "not a boolean: %q", v.text())
		}
		if k == "disabled" {
			r.Disabled = b
		} else {
			r.PasswordSync = b
		}
	}
	return &psRuleVar{r: r, line: c.line}
}

func (p *psParser) addFlow(r *rule, c *psCmd) {
	f := idsync.Flow{Target: c.named["destination"].text()}
	elem := fmt.Sprintf("line %d (Add-ADSyncAttributeFlowMapping -Destination %s)", c.line, f.Target)
	f.Type = r.flowType(elem, c.named["flowtype"].text())
	f.Merge = r.mergeType(elem, c.named["valuemergetype"].text())
	if v, ok := c.named["executeonce"]; ok {
		b, ok := v.truth()
		if !ok {
			r.problem(elem, "-ExecuteOnce: not a boolean: %q", v.text())
		}
		f.ApplyOnce = b
	}
	src := c.named["source"].strings()
	switch f.Type {
	case idsync.FlowDirect:
		if len(src) != 1 {
			r.problem(elem, "a Direct mapping needs exactly one -Source, got %d", len(src))
		} else {
			f.Source = src[0]
		}
	case idsync.FlowConstant:
		if len(src) > 1 {
			r.problem(elem, "a Constant mapping has %d values", len(src))
		} else if len(src) == 1 {
			f.Constant = src[0]
		}
	case idsync.FlowExpression:
		f.Expression = c.named["expression"].text()
	}
	r.Flows = append(r.Flows, f)
}
