package expr

import (
	"slices"
	"strings"

	"github.com/idsync/idsync"
)

// typ is what the checker knows about an expression's values.
type typ uint8

const (
	tyAny  typ = iota // unknown until evaluation (attributes, parameters, Item, IIF of mixed branches)
	tyStr             // str
	tyNum             // num
	tyBool            // bool
	tyBin             // bin
	tyRef             // ref
	tyDT              // dt
	tyVoid            // Error(...): never returns
	tyFlag            // IgnoreThisFlow, AuthoritativeNull
	tyNull            // NULL
	tyEnum            // a bare enum name
)

var tyNames = [...]string{"var", "str", "num", "bool", "bin", "ref", "dt", "void", "flag", "NULL", "enum"}

func (t typ) String() string { return tyNames[t] }

// Compile parses and checks an expression. Syntax and check errors are
// *Error values giving the line and column.
func Compile(src string, opts *Options) (*Program, error) {
	if opts == nil {
		opts = &Options{}
	}
	root, perr := parse(src, opts.Precedence)
	if perr != nil {
		return nil, perr
	}
	c := &checker{src: src, params: opts.Params}
	if c.params == nil {
		c.params = StandardParams
	}
	var err *Error
	root, _, err = c.check(root, true)
	if err != nil {
		return nil, err
	}
	return &Program{src: src, root: root, attrs: c.attrs, nvars: c.nvars, now: opts.Now, rand: opts.Rand}, nil
}

// MustCompile is Compile with the default options that panics on error.
// It is for expressions fixed in code.
func MustCompile(src string) *Program {
	p, err := Compile(src, nil)
	if err != nil {
		panic("expr: MustCompile(" + src + "): " + err.Error())
	}
	return p
}

type binding struct {
	name string
	slot int
}

type checker struct {
	src    string
	params []string
	attrs  []string
	scope  []binding
	nvars  int
}

func (c *checker) errorf(n node, format string, args ...any) *Error {
	return newError(c.src, n.offset(), format, args...)
}

func (c *checker) addAttr(name string) {
	if !slices.Contains(c.attrs, name) {
		c.attrs = append(c.attrs, name)
	}
}

// constants are the keywords. Names are case-sensitive.
var constants = map[string]val{
	"True":              one(boolVal(true)),
	"False":             one(boolVal(false)),
	"NULL":              null,
	"CRLF":              one(strVal("\r\n")),
	"IgnoreThisFlow":    {k: kIgnore},
	"AuthoritativeNull": {k: kAuthNull},
}

func constType(v val) typ {
	switch v.k {
	case kNull:
		return tyNull
	case kIgnore, kAuthNull:
		return tyFlag
	}
	switch v.one.Type {
	case typeBoolean:
		return tyBool
	case typeInteger:
		return tyNum
	}
	return tyStr
}

// check checks n and returns it (possibly rewritten) with its type.
// result says whether n is in a result position, where IgnoreThisFlow and
// AuthoritativeNull may appear.
func (c *checker) check(n node, result bool) (node, typ, *Error) {
	switch n := n.(type) {
	case *litNode:
		return n, constType(n.v), nil
	case *attrNode:
		c.addAttr(n.name)
		return n, tyAny, nil
	case *paramNode:
		if !slices.Contains(c.params, n.name) {
			for _, p := range c.params {
				if strings.EqualFold(p, n.name) {
					return nil, 0, c.errorf(n, "unknown parameter %%%s%% (names are case-sensitive: did you mean %%%s%%?)", n.name, p)
				}
			}
			return nil, 0, c.errorf(n, "unknown parameter %%%s%% (known: %s)", n.name, paramList(c.params))
		}
		return n, tyAny, nil
	case *varNode:
		for i := len(c.scope) - 1; i >= 0; i-- {
			if c.scope[i].name == n.name {
				n.slot = c.scope[i].slot
				return n, tyAny, nil
			}
		}
		return nil, 0, c.errorf(n, "variable $%s is not bound (Select, Where and With bind variables)", n.name)
	case *identNode:
		if v, ok := constants[n.name]; ok {
			l := &litNode{off: n.off, v: v}
			t := constType(v)
			if t == tyFlag && !result {
				return nil, 0, c.errorf(n, "%s can only be the result of the expression (or of IIF, Switch or With)", n.name)
			}
			return l, t, nil
		}
		for k := range constants {
			if strings.EqualFold(k, n.name) {
				return nil, 0, c.errorf(n, "unknown identifier %s (names are case-sensitive: did you mean %s?)", n.name, k)
			}
		}
		if isEnumName(n.name) {
			return nil, 0, c.errorf(n, "%s can only be used as an option of a function that takes it", n.name)
		}
		return nil, 0, c.errorf(n, "unknown identifier %s", n.name)
	case *negNode:
		x, t, err := c.check(n.x, false)
		if err != nil {
			return nil, 0, err
		}
		if err := c.operand("-", x, t, tyNum); err != nil {
			return nil, 0, err
		}
		n.x = x
		return n, tyNum, nil
	case *binNode:
		return c.binary(n)
	case *callNode:
		return c.call(n, result)
	}
	return nil, 0, c.errorf(n, "internal error: unexpected node %T", n)
}

func paramList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("%" + p + "%")
	}
	return b.String()
}

func (c *checker) binary(n *binNode) (node, typ, *Error) {
	l, lt, err := c.check(n.l, false)
	if err != nil {
		return nil, 0, err
	}
	r, rt, err := c.check(n.r, false)
	if err != nil {
		return nil, 0, err
	}
	op := n.op.String()
	for _, side := range [2]struct {
		n node
		t typ
	}{{l, lt}, {r, rt}} {
		if side.t == tyFlag || side.t == tyEnum {
			return nil, 0, c.errorf(side.n, "operator %s: %s can't be an operand", op, describeNode(side.n))
		}
	}
	switch n.op {
	case tAmp:
		var parts []node
		for _, x := range [2]node{l, r} {
			if cn, ok := x.(*concatNode); ok {
				parts = append(parts, cn.parts...)
			} else {
				parts = append(parts, x)
			}
		}
		t := tyStr
		if lt == tyBin && rt == tyBin {
			t = tyBin
		} else if lt == tyAny || rt == tyAny {
			t = tyAny
		}
		return &concatNode{off: n.off, parts: parts}, t, nil
	case tPlus, tMinus, tStar, tSlash:
		if err := c.operand(op, l, lt, tyNum); err != nil {
			return nil, 0, err
		}
		if err := c.operand(op, r, rt, tyNum); err != nil {
			return nil, 0, err
		}
		n.l, n.r = l, r
		return n, tyNum, nil
	case tAnd, tOr:
		if err := c.operand(op, l, lt, tyBool); err != nil {
			return nil, 0, err
		}
		if err := c.operand(op, r, rt, tyBool); err != nil {
			return nil, 0, err
		}
		n.l, n.r = l, r
		return n, tyBool, nil
	}
	// Comparisons.
	if n.op != tEq && n.op != tNe {
		if (lt == tyBin) != (rt == tyBin) && lt != tyAny && rt != tyAny && lt != tyNull && rt != tyNull && lt != tyVoid && rt != tyVoid {
			return nil, 0, c.errorf(n, "operator %s can't compare %s with %s", op, lt, rt)
		}
	}
	n.l, n.r = l, r
	return n, tyBool, nil
}

// operand checks that an operand of op can be converted to want.
func (c *checker) operand(op string, n node, t, want typ) *Error {
	if msg := convertible(n, t, want); msg != "" {
		return c.errorf(n, "operator %s needs %s: %s", op, typeWord(want), msg)
	}
	return nil
}

func typeWord(t typ) string {
	switch t {
	case tyNum:
		return "a number"
	case tyBool:
		return "a boolean"
	case tyStr:
		return "a string"
	case tyBin:
		return "a binary value"
	case tyRef:
		return "a reference"
	case tyDT:
		return "a date"
	}
	return "a value"
}

func describeNode(n node) string {
	switch n := n.(type) {
	case *litNode:
		switch n.v.k {
		case kNull:
			return "NULL"
		case kIgnore, kAuthNull:
			return n.v.flagName()
		}
		return describeValue(n.v.one)
	case *callNode:
		return n.name + "(...)"
	case *attrNode:
		return "[" + n.name + "]"
	case *identNode:
		return n.name
	}
	return "the expression"
}

// convertible reports why a node of type t can't become want ("" if it can,
// or might at evaluation).
func convertible(n node, t, want typ) string {
	switch t {
	case tyAny, tyVoid, tyNull:
		return ""
	case tyFlag:
		return describeNode(n) + " can only be the result of the expression"
	case tyEnum:
		return describeNode(n) + " is an option name, not a value"
	}
	lit, isLit := n.(*litNode)
	bad := func() string { return "got " + describeNode(n) + " (" + t.String() + ")" }
	switch want {
	case tyAny, tyStr:
		return ""
	case tyNum:
		switch t {
		case tyNum, tyBool, tyBin:
			return ""
		case tyStr:
			if isLit {
				if _, ok := parseNum(lit.v.one.Str); !ok {
					return bad()
				}
			}
			return ""
		}
		return bad()
	case tyBool:
		switch t {
		case tyNum, tyBool:
			return ""
		case tyStr:
			if isLit {
				if _, ok := parseBool(lit.v.one.Str); !ok {
					return bad()
				}
			}
			return ""
		}
		return bad()
	case tyDT:
		switch t {
		case tyDT:
			return ""
		case tyStr:
			if isLit {
				if _, ok := parseDate(lit.v.one.Str); !ok {
					return bad()
				}
			}
			return ""
		}
		return bad()
	case tyBin:
		switch t {
		case tyBin, tyStr:
			return ""
		}
		return bad()
	case tyRef:
		switch t {
		case tyRef, tyStr:
			return ""
		}
		return bad()
	}
	return ""
}

func (c *checker) call(n *callNode, result bool) (node, typ, *Error) {
	fn, ok := funcs[n.name]
	if !ok {
		return nil, 0, c.errorf(n, "unknown function %s%s", n.name, suggest(n.name))
	}
	n.fn = fn
	if len(n.args) < fn.min || (fn.max >= 0 && len(n.args) > fn.max) {
		return nil, 0, c.errorf(n, "%s takes %s, got %d (%s)", fn.name, arity(fn), len(n.args), strings.Join(fn.sigs, "; "))
	}
	switch fn.special {
	case spSelect, spWhere, spWith:
		return c.binder(n, result)
	case spImported, spValueCount:
		l, ok := n.args[0].(*litNode)
		if !ok || !l.str {
			return nil, 0, c.errorf(n.args[0], "%s takes the attribute name as a string constant, e.g. %s(\"proxyAddresses\")", fn.name, fn.name)
		}
		n.attr = l.v.one.Str
		c.addAttr(n.attr)
		if fn.special == spImported {
			return n, tyAny, nil
		}
		return n, tyNum, nil
	case spSwitch:
		if len(n.args)%2 != 0 {
			return nil, 0, c.errorf(n, "Switch takes condition/value pairs, got %d arguments", len(n.args))
		}
		rt := tyNull
		for i := range n.args {
			isValue := i%2 == 1
			a, t, err := c.check(n.args[i], isValue && result)
			if err != nil {
				return nil, 0, err
			}
			n.args[i] = a
			if isValue {
				rt = joinType(rt, t)
			} else if msg := convertible(a, t, tyBool); msg != "" {
				return nil, 0, c.errorf(a, "argument %d of Switch must be a condition: %s", i+1, msg)
			}
		}
		return n, rt, nil
	case spIIF:
		rt := tyNull
		for i := range n.args {
			a, t, err := c.check(n.args[i], i > 0 && result)
			if err != nil {
				return nil, 0, err
			}
			n.args[i] = a
			if i == 0 {
				if msg := convertible(a, t, tyBool); msg != "" {
					return nil, 0, c.errorf(a, "argument 1 of IIF must be a condition: %s", msg)
				}
				continue
			}
			rt = joinType(rt, t)
		}
		return n, rt, nil
	}
	for i := range n.args {
		p := fn.param(i)
		if p.t == tyEnum {
			a, err := c.enumArg(fn, i, n.args[i], p)
			if err != nil {
				return nil, 0, err
			}
			n.args[i] = a
			continue
		}
		a, t, err := c.check(n.args[i], false)
		if err != nil {
			return nil, 0, err
		}
		n.args[i] = a
		if msg := convertible(a, t, p.t); msg != "" {
			return nil, 0, c.errorf(a, "argument %d (%s) of %s must be %s: %s", i+1, p.name, fn.name, typeWord(p.t), msg)
		}
	}
	return n, fn.ret, nil
}

// enumArg checks an option argument: a bare name (UTF8) or a string
// constant ("DC") from the function's list; names are matched
// case-insensitively in strings, exactly when bare.
func (c *checker) enumArg(fn *funcDef, i int, a node, p param) (node, *Error) {
	var name string
	bare := false
	switch a := a.(type) {
	case *identNode:
		name, bare = a.name, true
	case *litNode:
		if !a.str {
			return nil, c.errorf(a, "argument %d (%s) of %s must be one of %s", i+1, p.name, fn.name, strings.Join(p.enums, ", "))
		}
		name = a.v.one.Str
	default:
		// A computed option (a parameter, say) is checked when evaluated.
		a2, t, err := c.check(a, false)
		if err != nil {
			return nil, err
		}
		if msg := convertible(a2, t, tyStr); msg != "" {
			return nil, c.errorf(a2, "argument %d (%s) of %s: %s", i+1, p.name, fn.name, msg)
		}
		return a2, nil
	}
	for _, e := range p.enums {
		if e == name || !bare && strings.EqualFold(e, name) {
			return &litNode{off: a.offset(), v: one(strVal(e)), enum: true}, nil
		}
	}
	return nil, c.errorf(a, "argument %d (%s) of %s must be one of %s, got %s", i+1, p.name, fn.name, strings.Join(p.enums, ", "), name)
}

// binder checks Select, Where and With, whose first argument is the
// $variable they bind for their last argument.
func (c *checker) binder(n *callNode, result bool) (node, typ, *Error) {
	v, ok := n.args[0].(*varNode)
	if !ok {
		return nil, 0, c.errorf(n.args[0], "argument 1 of %s must be a $variable", n.fn.name)
	}
	a, t, err := c.check(n.args[1], false)
	if err != nil {
		return nil, 0, err
	}
	if t == tyFlag || t == tyEnum {
		return nil, 0, c.errorf(a, "argument 2 of %s: %s", n.fn.name, convertible(a, t, tyAny))
	}
	n.args[1] = a
	v.slot = c.nvars
	c.nvars++
	c.scope = append(c.scope, binding{name: v.name, slot: v.slot})
	body, bt, err := c.check(n.args[2], n.fn.special == spWith && result)
	c.scope = c.scope[:len(c.scope)-1]
	if err != nil {
		return nil, 0, err
	}
	n.args[2] = body
	switch n.fn.special {
	case spWhere:
		if msg := convertible(body, bt, tyBool); msg != "" {
			return nil, 0, c.errorf(body, "argument 3 of Where must be a condition: %s", msg)
		}
		return n, t, nil
	case spSelect:
		if bt == tyFlag {
			return nil, 0, c.errorf(body, "argument 3 of Select: %s", convertible(body, bt, tyAny))
		}
	}
	return n, bt, nil
}

func joinType(a, b typ) typ {
	switch {
	case a == b:
		return a
	case a == tyNull || a == tyVoid:
		return b
	case b == tyNull || b == tyVoid:
		return a
	}
	return tyAny
}

func arity(fn *funcDef) string {
	switch {
	case fn.max < 0:
		return "at least " + itoa(fn.min) + " arguments"
	case fn.min == fn.max:
		if fn.min == 1 {
			return "1 argument"
		}
		return itoa(fn.min) + " arguments"
	}
	return itoa(fn.min) + " to " + itoa(fn.max) + " arguments"
}

func itoa(n int) string { return idsync.Int(int64(n)).String() }

// aliases are names the reference's page uses by mistake.
var aliases = map[string]string{"Random": "RandomNum"}

func suggest(name string) string {
	if a, ok := aliases[name]; ok {
		return " (did you mean " + a + "?)"
	}
	for k := range funcs {
		if strings.EqualFold(k, name) {
			return " (names are case-sensitive: did you mean " + k + "?)"
		}
	}
	return ""
}
