package expr

// The syntax tree. The parser builds it; the checker resolves names,
// checks types and rewrites a few nodes; the evaluator walks it.

type node interface{ offset() int }

// litNode is a constant: a string, number, boolean, NULL, CRLF,
// IgnoreThisFlow, AuthoritativeNull, or (after checking) an enum name.
type litNode struct {
	off  int
	v    val
	enum bool // a bare identifier used as an enum argument; v holds its canonical name
	str  bool // written as a string literal
}

type attrNode struct {
	off  int
	name string
}

type paramNode struct {
	off  int
	name string
}

type varNode struct {
	off  int
	name string
	slot int // index into the evaluation frame's variables
}

type identNode struct {
	off  int
	name string
}

type callNode struct {
	off  int
	name string
	args []node
	fn   *funcDef
	attr string // ImportedValue/ValueCount: the attribute named by the literal argument
}

type binNode struct {
	off  int // offset of the operator
	op   tokKind
	l, r node
}

type negNode struct {
	off int
	x   node
}

// concatNode is a chain of & operators, flattened by the checker so that
// single-valued text is joined with one allocation.
type concatNode struct {
	off   int
	parts []node
}

func (n *litNode) offset() int    { return n.off }
func (n *attrNode) offset() int   { return n.off }
func (n *paramNode) offset() int  { return n.off }
func (n *varNode) offset() int    { return n.off }
func (n *identNode) offset() int  { return n.off }
func (n *callNode) offset() int   { return n.off }
func (n *binNode) offset() int    { return n.off }
func (n *negNode) offset() int    { return n.off }
func (n *concatNode) offset() int { return n.off }

// Precedence selects how operators bind.
type Precedence uint8

const (
	// LeftToRight is the reference's rule: every operator has the same
	// priority and a chain of operators is evaluated from left to right,
	// so 2*5+3 is (2*5)+3 and 2+5*3 is (2+5)*3.
	LeftToRight Precedence = iota
	// Conventional gives * and / the highest priority, then + and -, then &,
	// then the comparisons, then &&, then ||. Rules written by people who
	// assume the usual priorities (a = 1 || b = 2) need it.
	Conventional
)

func (p Precedence) level(k tokKind) int {
	if p != Conventional {
		return 0
	}
	switch k {
	case tStar, tSlash:
		return 5
	case tPlus, tMinus:
		return 4
	case tAmp:
		return 3
	case tEq, tNe, tLt, tLe, tGt, tGe:
		return 2
	case tAnd:
		return 1
	}
	return 0 // tOr
}

const maxDepth = 200

type parser struct {
	s     scanner
	tok   token
	prec  Precedence
	depth int
}

type bailout struct{ err *Error }

func (p *parser) fail(err *Error) { panic(bailout{err}) }

func (p *parser) failf(off int, format string, args ...any) {
	p.fail(newError(p.s.src, off, format, args...))
}

func (p *parser) advance() {
	t, err := p.s.next()
	if err != nil {
		p.fail(err)
	}
	p.tok = t
}

// parse parses a whole expression.
func parse(src string, prec Precedence) (n node, err *Error) {
	p := &parser{s: scanner{src: src}, prec: prec}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			n, err = nil, b.err
		}
	}()
	p.advance()
	if p.tok.kind == tEOF {
		p.failf(p.tok.off, "empty expression")
	}
	n = p.binary(0)
	switch p.tok.kind {
	case tEOF:
	case tRParen:
		p.failf(p.tok.off, "unbalanced parentheses: unexpected )")
	case tComma:
		p.failf(p.tok.off, "unexpected , outside a function call")
	default:
		p.failf(p.tok.off, "unexpected %s: missing operator?", describe(p.tok))
	}
	return n, nil
}

func describe(t token) string {
	switch t.kind {
	case tAttr:
		return "attribute [" + t.text + "]"
	case tParam:
		return "parameter %" + t.text + "%"
	case tString:
		return "string"
	case tNumber:
		return "number"
	case tIdent:
		return t.text
	case tVar:
		return "variable $" + t.text
	}
	return t.kind.String()
}

func (p *parser) binary(min int) node {
	l := p.operand()
	for p.tok.kind.isOperator() {
		op := p.tok
		lv := p.prec.level(op.kind)
		if lv < min {
			break
		}
		p.advance()
		r := p.binary(lv + 1)
		l = &binNode{off: op.off, op: op.kind, l: l, r: r}
	}
	return l
}

func (p *parser) operand() node {
	p.depth++
	if p.depth > maxDepth {
		p.failf(p.tok.off, "expression is nested too deeply (more than %d levels)", maxDepth)
	}
	defer func() { p.depth-- }()
	t := p.tok
	switch t.kind {
	case tLParen:
		p.advance()
		if p.tok.kind == tRParen {
			p.failf(p.tok.off, "empty parentheses")
		}
		n := p.binary(0)
		if p.tok.kind != tRParen {
			p.failf(t.off, "unbalanced parentheses: ( is never closed")
		}
		p.advance()
		return n
	case tMinus:
		p.advance()
		x := p.operand()
		if l, ok := x.(*litNode); ok && l.v.k == kOne && l.v.one.Type == typeInteger && !l.str {
			l.v.one.Int = -l.v.one.Int
			l.off = t.off
			return l
		}
		return &negNode{off: t.off, x: x}
	case tString:
		p.advance()
		return &litNode{off: t.off, v: one(strVal(t.text)), str: true}
	case tNumber:
		p.advance()
		return &litNode{off: t.off, v: one(intVal(t.num))}
	case tAttr:
		p.advance()
		return &attrNode{off: t.off, name: t.text}
	case tParam:
		p.advance()
		return &paramNode{off: t.off, name: t.text}
	case tVar:
		p.advance()
		return &varNode{off: t.off, name: t.text}
	case tIdent:
		p.advance()
		if p.tok.kind != tLParen {
			return &identNode{off: t.off, name: t.text}
		}
		lp := p.tok
		p.advance()
		c := &callNode{off: t.off, name: t.text}
		if p.tok.kind == tRParen {
			p.advance()
			return c
		}
		for {
			if p.tok.kind == tComma || p.tok.kind == tRParen {
				p.failf(p.tok.off, "missing argument %d of %s", len(c.args)+1, t.text)
			}
			c.args = append(c.args, p.binary(0))
			switch p.tok.kind {
			case tComma:
				p.advance()
				continue
			case tRParen:
				p.advance()
				return c
			case tEOF:
				p.failf(lp.off, "unbalanced parentheses: ( of %s is never closed", t.text)
			default:
				p.failf(p.tok.off, "unexpected %s in the arguments of %s: missing , or )?", describe(p.tok), t.text)
			}
		}
	case tEOF:
		p.failf(t.off, "unexpected end of expression: missing operand")
	case tRParen:
		p.failf(t.off, "unexpected ): missing operand")
	case tComma:
		p.failf(t.off, "unexpected ,: missing operand")
	}
	p.failf(t.off, "unexpected operator %s: missing operand", t.kind)
	return nil
}
