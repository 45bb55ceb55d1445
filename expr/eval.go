package expr

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
)

// Options for Compile. The zero value (or a nil *Options) is ready to use.
type Options struct {
	// Params lists the parameter names the rule may use (e.g.
	// "Domain.FQDN"); nil means the standard seven: Domain.FQDN,
	// Domain.Netbios, Domain.LDAP, Forest.FQDN, Forest.Netbios, Forest.LDAP
	// and Connector.ID.
	Params []string
	// Now is the clock of Now(); nil means time.Now.
	Now func() time.Time
	// Rand is the random source of RandomNum and Guid: each call returns 64
	// uniformly random bits. Nil means math/rand/v2's Uint64. It is called
	// from every goroutine that evaluates the program.
	Rand func() uint64
	// Precedence selects how operators bind; the zero value is the
	// reference's LeftToRight.
	Precedence Precedence
}

// StandardParams are the parameters every rule may use.
var StandardParams = []string{
	"Domain.FQDN", "Domain.Netbios", "Domain.LDAP",
	"Forest.FQDN", "Forest.Netbios", "Forest.LDAP",
	"Connector.ID",
}

// Env gives a program its inputs. Its methods may be called from several
// goroutines at once when one Env is shared; the program never modifies
// the slices they return.
type Env interface {
	// Attr returns the values of an attribute of the source object (nil when absent).
	Attr(name string) []idsync.Value
	// Imported returns the values last imported from the connected system
	// (for ImportedValue), as opposed to a pending export.
	Imported(name string) []idsync.Value
	// Param returns a rule parameter's value.
	Param(name string) (string, bool)
}

// MapEnv is a simple Env for tests and the CLI.
type MapEnv struct {
	Attrs, ImportedAttrs idsync.Attrs
	Params               map[string]string
}

func (e *MapEnv) Attr(name string) []idsync.Value     { return e.Attrs[name] }
func (e *MapEnv) Imported(name string) []idsync.Value { return e.ImportedAttrs[name] }
func (e *MapEnv) Param(name string) (string, bool) {
	s, ok := e.Params[name]
	return s, ok
}

// Flag is a special result that is not a value.
type Flag uint8

const (
	NoFlag            Flag = iota
	IgnoreThisFlow         // the flow contributes nothing; the target keeps what other rules give it
	AuthoritativeNull      // the flow wins and sets the target to no value, overriding lower-precedence rules
)

func (f Flag) String() string {
	switch f {
	case IgnoreThisFlow:
		return "IgnoreThisFlow"
	case AuthoritativeNull:
		return "AuthoritativeNull"
	}
	return "NoFlag"
}

// Result is the outcome of an evaluation.
type Result struct {
	Values []idsync.Value // nil/empty with Flag==NoFlag means NULL
	Flag   Flag
}

// IsNull reports whether the result is NULL: no values and no flag.
func (r Result) IsNull() bool { return len(r.Values) == 0 && r.Flag == NoFlag }

// Program is a compiled expression. It is immutable, and Eval may be
// called from several goroutines at once.
type Program struct {
	src    string
	root   node
	attrs  []string
	nvars  int
	now    func() time.Time
	rand   func() uint64
	frames sync.Pool
}

// String returns the source of the expression.
func (p *Program) String() string { return p.src }

// Attrs returns the names of the attributes the expression reads: [x],
// ImportedValue("x") and ValueCount("x"), each once, in order of first use.
// The caller must not modify the slice.
func (p *Program) Attrs() []string { return p.attrs }

// frame is the state of one evaluation.
type frame struct {
	p     *Program
	env   Env
	vars  []val
	stack []val
	sargs [maxArgs]idsync.Value
}

const maxArgs = 8 // no per-value function takes more

// Eval evaluates the program against env. Errors are *UserError (from
// Error("msg")) or *EvalError. The values of the result may share memory
// (binary bytes) with the values env returned.
func (p *Program) Eval(env Env) (Result, error) {
	f, _ := p.frames.Get().(*frame)
	if f == nil {
		f = &frame{p: p, vars: make([]val, p.nvars), stack: make([]val, 0, 16)}
	}
	f.env = env
	v, err := f.eval(p.root)
	f.env = nil
	clear(f.vars)
	p.frames.Put(f)
	if err != nil {
		return Result{}, err
	}
	return toResult(v), nil
}

func toResult(v val) Result {
	switch v.k {
	case kIgnore:
		return Result{Flag: IgnoreThisFlow}
	case kAuthNull:
		return Result{Flag: AuthoritativeNull}
	case kOne:
		return Result{Values: []idsync.Value{exported(v.one)}}
	case kMany:
		out := make([]idsync.Value, len(v.many))
		for i, x := range v.many {
			out[i] = exported(x)
		}
		return Result{Values: out}
	}
	return Result{}
}

func (f *frame) now() time.Time {
	if f.p.now != nil {
		return f.p.now().UTC()
	}
	return time.Now().UTC()
}

func (f *frame) rand() uint64 {
	if f.p.rand != nil {
		return f.p.rand()
	}
	return rand.Uint64()
}

// eval evaluates a node. Each case is a single call so that eval's own
// stack frame stays small: it is entered for every node.
func (f *frame) eval(n node) (val, error) {
	switch n := n.(type) {
	case *litNode:
		return n.v, nil
	case *attrNode:
		return many(f.env.Attr(n.name)), nil
	case *callNode:
		return f.call(n)
	case *concatNode:
		return f.concat(n)
	case *binNode:
		return f.binary(n)
	case *paramNode:
		return f.param(n)
	case *varNode:
		return f.vars[n.slot], nil
	case *negNode:
		return f.neg(n)
	}
	return null, evalErr("", "internal error: unexpected node %T", n)
}

func (f *frame) param(n *paramNode) (val, error) {
	s, ok := f.env.Param(n.name)
	if !ok {
		return null, nil
	}
	return one(strVal(s)), nil
}

func (f *frame) neg(n *negNode) (val, error) {
	x, err := f.eval(n.x)
	if err != nil {
		return null, err
	}
	return f.mapUnary(x)
}

func (f *frame) mapUnary(x val) (val, error) {
	if x.isFlag() {
		return null, evalErr("-", "%s can't be an operand", x.flagName())
	}
	out := make([]idsync.Value, 0, x.n())
	for i := range x.n() {
		n, err := toNum("-", x.get(i))
		if err != nil {
			return null, err
		}
		out = append(out, intVal(-n))
	}
	return many(out), nil
}

func (f *frame) call(n *callNode) (val, error) {
	fn := n.fn
	switch {
	case fn.special != spNone:
		return f.callSpecial(n)
	case fn.scalar == nil:
		return f.callList(n)
	case len(n.args) == 0:
		return f.mapScalar(fn, nil)
	case len(n.args) == 1:
		return f.call1(n)
	case len(n.args) == 2:
		return f.call2(n)
	}
	return f.callList(n)
}

func flagArg(fn *funcDef, v val) error {
	return evalErr(fn.name, "%s can only be the result of the expression (or of IIF, Switch or With)", v.flagName())
}

// call1 and call2 keep the arguments of per-value functions in local
// arrays, which stay on the stack.
func (f *frame) call1(n *callNode) (val, error) {
	var buf [1]val
	v, err := f.eval(n.args[0])
	if err != nil {
		return null, err
	}
	if v.isFlag() {
		return null, flagArg(n.fn, v)
	}
	buf[0] = v
	return f.mapScalar(n.fn, buf[:])
}

func (f *frame) call2(n *callNode) (val, error) {
	var buf [2]val
	for i, a := range n.args {
		v, err := f.eval(a)
		if err != nil {
			return null, err
		}
		if v.isFlag() {
			return null, flagArg(n.fn, v)
		}
		buf[i] = v
	}
	return f.mapScalar(n.fn, buf[:])
}

func (f *frame) callSpecial(n *callNode) (val, error) {
	switch n.fn.special {
	case spIIF:
		return f.iif(n)
	case spSwitch:
		return f.switch_(n)
	case spSelect, spWhere:
		return f.selectWhere(n)
	case spWith:
		return f.with(n)
	case spImported:
		return many(f.env.Imported(n.attr)), nil
	}
	return one(intVal(int64(len(f.env.Attr(n.attr))))), nil // spValueCount
}

func (f *frame) with(n *callNode) (val, error) {
	v, err := f.eval(n.args[1])
	if err != nil {
		return null, err
	}
	f.vars[n.args[0].(*varNode).slot] = v
	return f.eval(n.args[2])
}

// callList evaluates the arguments onto the frame's stack and calls a
// function that takes whole lists (or a per-value function with many
// arguments).
func (f *frame) callList(n *callNode) (val, error) {
	fn := n.fn
	base := len(f.stack)
	for _, a := range n.args {
		v, err := f.eval(a)
		if err != nil {
			f.unwind(base)
			return null, err
		}
		if v.isFlag() {
			f.unwind(base)
			return null, flagArg(fn, v)
		}
		f.stack = append(f.stack, v)
	}
	args := f.stack[base:]
	var v val
	var err error
	if fn.list != nil {
		v, err = fn.list(f, args)
	} else {
		v, err = f.mapScalar(fn, args)
	}
	f.unwind(base)
	return v, err
}

// unwind pops the stack back to base. The popped slots are not cleared:
// the frame is reused at once, and sync.Pool drops idle frames at GC.
func (f *frame) unwind(base int) { f.stack = f.stack[:base] }

// mapScalar applies a per-value function. When an argument has several
// values the function is applied to each (pairing it with the single
// values of the other arguments); a NULL result drops that value.
func (f *frame) mapScalar(fn *funcDef, args []val) (val, error) {
	n := 1
	for i, a := range args {
		switch c := a.n(); {
		case c == 0:
			switch {
			case fn.null == nullFalse:
				return one(boolVal(false)), nil
			case fn.null == nullEmpty && i == 0:
				if nullOthers(args) {
					return null, nil
				}
				return one(strVal("")), nil
			case fn.null != nullPass:
				return null, nil
			}
		case c > 1:
			if n > 1 && c != n {
				return null, evalErr(fn.name, "multi-valued arguments have different numbers of values (%d and %d)", n, c)
			}
			n = c
		}
	}
	a := f.sargs[:len(args)]
	if n == 1 {
		for j, x := range args {
			a[j] = x.get(0)
			if x.k == kNull {
				a[j] = idsync.Value{}
			}
		}
		v, err := fn.scalar(f, a)
		return one(v), err
	}
	out := make([]idsync.Value, 0, n)
	for i := range n {
		for j, x := range args {
			if x.k == kNull {
				a[j] = idsync.Value{}
			} else {
				a[j] = x.get(i)
			}
		}
		v, err := fn.scalar(f, a)
		if err != nil {
			return null, err
		}
		if !v.IsZero() {
			out = append(out, v)
		}
	}
	return many(out), nil
}

// nullOthers reports whether an argument after the first is NULL.
func nullOthers(args []val) bool {
	for _, a := range args[1:] {
		if a.k == kNull {
			return true
		}
	}
	return false
}

// iif evaluates only the branch it needs. A multi-valued condition picks,
// value by value, from the branches (which have one value or as many as
// the condition), and a NULL choice drops that value: this is how
// IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses]) removes the
// SIP addresses.
func (f *frame) iif(n *callNode) (val, error) {
	c, err := f.eval(n.args[0])
	if err != nil {
		return null, err
	}
	if c.k != kMany {
		b, err := truth("IIF", c)
		if err != nil {
			return null, err
		}
		if b {
			return f.eval(n.args[1])
		}
		return f.eval(n.args[2])
	}
	conds := make([]bool, len(c.many))
	var anyTrue, anyFalse bool
	for i, x := range c.many {
		if conds[i], err = toBool("IIF", x); err != nil {
			return null, err
		}
		anyTrue = anyTrue || conds[i]
		anyFalse = anyFalse || !conds[i]
	}
	var t, e val
	if anyTrue {
		if t, err = f.eval(n.args[1]); err != nil {
			return null, err
		}
	}
	if anyFalse {
		if e, err = f.eval(n.args[2]); err != nil {
			return null, err
		}
	}
	out := make([]idsync.Value, 0, len(conds))
	for i, b := range conds {
		br := e
		if b {
			br = t
		}
		if br.isFlag() {
			return br, nil // a flag chosen for any value is the result of the whole flow
		}
		switch br.n() {
		case 0:
		case 1:
			out = append(out, br.one)
		case len(conds):
			out = append(out, br.many[i])
		default:
			return null, evalErr("IIF", "the condition has %d values but the chosen value has %d", len(conds), br.n())
		}
	}
	return many(out), nil
}

// switch_ evaluates every condition (as the reference does), then only the
// value paired with the first true one. No true condition gives NULL.
func (f *frame) switch_(n *callNode) (val, error) {
	chosen := -1
	for i := 0; i < len(n.args); i += 2 {
		c, err := f.eval(n.args[i])
		if err != nil {
			return null, err
		}
		b, err := truth("Switch", c)
		if err != nil {
			return null, err
		}
		if b && chosen < 0 {
			chosen = i + 1
		}
	}
	if chosen < 0 {
		return null, nil
	}
	return f.eval(n.args[chosen])
}

func (f *frame) selectWhere(n *callNode) (val, error) {
	coll, err := f.eval(n.args[1])
	if err != nil {
		return null, err
	}
	if coll.isFlag() {
		return null, evalErr(n.fn.name, "%s is not a collection", coll.flagName())
	}
	slot := n.args[0].(*varNode).slot
	out := make([]idsync.Value, 0, coll.n())
	for i := range coll.n() {
		x := coll.get(i)
		f.vars[slot] = one(x)
		r, err := f.eval(n.args[2])
		if err != nil {
			return null, err
		}
		if n.fn.special == spWhere {
			keep, err := truth("Where", r)
			if err != nil {
				return null, err
			}
			if keep {
				out = append(out, x)
			}
			continue
		}
		switch r.k {
		case kOne:
			out = append(out, r.one)
		case kMany:
			out = append(out, r.many...)
		case kIgnore, kAuthNull:
			return null, evalErr("Select", "%s can't be a selected value", r.flagName())
		}
	}
	f.vars[slot] = null
	return many(out), nil
}

// concat joins the parts of a & chain. A NULL part counts as nothing (as
// in VBA, "a" & NULL is "a"); all parts NULL give NULL. Binary parts join
// into a binary value when every part is binary.
func (f *frame) concat(n *concatNode) (val, error) {
	base := len(f.stack)
	cnt := 1
	nonNull := 0
	for _, p := range n.parts {
		v, err := f.eval(p)
		if err != nil {
			f.unwind(base)
			return null, err
		}
		if v.isFlag() {
			f.unwind(base)
			return null, evalErr("&", "%s can't be an operand", v.flagName())
		}
		if c := v.n(); c > 1 {
			if cnt > 1 && c != cnt {
				f.unwind(base)
				return null, evalErr("&", "multi-valued operands have different numbers of values (%d and %d)", cnt, c)
			}
			cnt = c
		}
		if v.k != kNull {
			nonNull++
		}
		f.stack = append(f.stack, v)
	}
	parts := f.stack[base:]
	defer f.unwind(base)
	if nonNull == 0 {
		return null, nil
	}
	if cnt == 1 {
		v, err := joinParts(parts, 0)
		return one(v), err
	}
	out := make([]idsync.Value, 0, cnt)
	for i := range cnt {
		v, err := joinParts(parts, i)
		if err != nil {
			return null, err
		}
		out = append(out, v)
	}
	return many(out), nil
}

func joinParts(parts []val, i int) (idsync.Value, error) {
	allBin := true
	size := 0
	for _, p := range parts {
		if p.k == kNull {
			continue
		}
		v := p.get(i)
		if v.Type != typeBinary {
			allBin = false
		}
		size += len(v.Str) + len(v.Bin)
	}
	if allBin {
		b := make([]byte, 0, size)
		for _, p := range parts {
			if p.k != kNull {
				b = append(b, p.get(i).Bin...)
			}
		}
		return binVal(b), nil
	}
	var sb strings.Builder
	sb.Grow(size + 8)
	for _, p := range parts {
		if p.k == kNull {
			continue
		}
		v := p.get(i)
		if v.Type == typeString || v.Type == typeReference {
			sb.WriteString(v.Str)
			continue
		}
		s, err := text("&", v)
		if err != nil {
			return idsync.Value{}, err
		}
		sb.WriteString(s)
	}
	return strVal(sb.String()), nil
}

// binary evaluates the operators other than &.
func (f *frame) binary(n *binNode) (val, error) {
	l, err := f.eval(n.l)
	if err != nil {
		return null, err
	}
	op := n.op.String()
	if l.isFlag() {
		return null, evalErr(op, "%s can't be an operand", l.flagName())
	}
	if n.op == tAnd || n.op == tOr {
		return f.logical(n, l)
	}
	r, err := f.eval(n.r)
	if err != nil {
		return null, err
	}
	if r.isFlag() {
		return null, evalErr(op, "%s can't be an operand", r.flagName())
	}
	ln, rn := l.n(), r.n()
	if ln == 0 || rn == 0 {
		return null, nil // NULL in arithmetic and comparisons gives NULL, as in VBA
	}
	if ln == 1 && rn == 1 {
		v, err := binop(n.op, l.one, r.one)
		return one(v), err
	}
	if ln > 1 && rn > 1 && ln != rn {
		return null, evalErr(op, "multi-valued operands have different numbers of values (%d and %d)", ln, rn)
	}
	cnt := max(ln, rn)
	out := make([]idsync.Value, 0, cnt)
	for i := range cnt {
		v, err := binop(n.op, l.get(i), r.get(i))
		if err != nil {
			return null, err
		}
		out = append(out, v)
	}
	return many(out), nil
}

// logical evaluates && and ||. NULL counts as False. The right operand is
// not evaluated when the left one decides.
func (f *frame) logical(n *binNode, l val) (val, error) {
	op := n.op.String()
	a, err := truth(op, l)
	if err != nil {
		return null, err
	}
	if n.op == tOr && a {
		return one(boolVal(true)), nil
	}
	if n.op == tAnd && !a {
		return one(boolVal(false)), nil
	}
	r, err := f.eval(n.r)
	if err != nil {
		return null, err
	}
	b, err := truth(op, r)
	if err != nil {
		return null, err
	}
	return one(boolVal(b)), nil
}

func binop(op tokKind, a, b idsync.Value) (idsync.Value, error) {
	switch op {
	case tEq:
		return boolVal(equal(a, b)), nil
	case tNe:
		return boolVal(!equal(a, b)), nil
	case tLt, tLe, tGt, tGe:
		c, err := order(op.String(), a, b)
		if err != nil {
			return idsync.Value{}, err
		}
		switch op {
		case tLt:
			return boolVal(c < 0), nil
		case tLe:
			return boolVal(c <= 0), nil
		case tGt:
			return boolVal(c > 0), nil
		}
		return boolVal(c >= 0), nil
	case tAmp:
		if a.Type == typeBinary && b.Type == typeBinary {
			return binVal(bytes.Join([][]byte{a.Bin, b.Bin}, nil)), nil
		}
		x, err := text("&", a)
		if err != nil {
			return idsync.Value{}, err
		}
		y, err := text("&", b)
		if err != nil {
			return idsync.Value{}, err
		}
		return strVal(x + y), nil
	}
	name := op.String()
	x, err := toNum(name, a)
	if err != nil {
		return idsync.Value{}, err
	}
	y, err := toNum(name, b)
	if err != nil {
		return idsync.Value{}, err
	}
	switch op {
	case tPlus:
		return intVal(x + y), nil
	case tMinus:
		return intVal(x - y), nil
	case tStar:
		return intVal(x * y), nil
	case tSlash:
		if y == 0 {
			return idsync.Value{}, evalErr("/", "division by zero")
		}
		return intVal(x / y), nil
	}
	return idsync.Value{}, evalErr(name, "internal error: unknown operator")
}
