package expr

import (
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
	sargs [maxArgs]idsync.Value // the arguments of a per-value function
	res   idsync.Value          // its result
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
	var v val
	err := f.eval(p.root, &v)
	f.env = nil
	clear(f.vars)
	p.frames.Put(f)
	if err != nil {
		return Result{}, err
	}
	return toResult(&v), nil
}

func toResult(v *val) Result {
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

// The evaluator writes results through pointers (dst, r) rather than
// returning them: values are 56 to 88 bytes, and returning structs that
// large costs far more than writing them in place.

// eval evaluates a node into *dst. Each case is a single call so that
// eval's own stack frame stays small: it is entered for every node.
func (f *frame) eval(n node, dst *val) error {
	switch n := n.(type) {
	case *litNode:
		*dst = n.v
		return nil
	case *attrNode:
		setMany(dst, f.env.Attr(n.name))
		return nil
	case *callNode:
		return f.call(n, dst)
	case *concatNode:
		return f.concat(n, dst)
	case *binNode:
		return f.binary(n, dst)
	case *paramNode:
		return f.param(n, dst)
	case *varNode:
		*dst = f.vars[n.slot]
		return nil
	case *negNode:
		return f.neg(n, dst)
	}
	return evalErr("", "internal error: unexpected node %T", n)
}

// setMany sets *dst to the list vs (which it may keep).
func setMany(dst *val, vs []idsync.Value) {
	switch len(vs) {
	case 0:
		*dst = val{}
	case 1:
		dst.k, dst.one, dst.many = kOne, vs[0], nil
	default:
		dst.k, dst.one, dst.many = kMany, idsync.Value{}, vs
	}
}

// setOne sets *dst to the single value v (NULL when v is the zero Value).
func setOne(dst *val, v *idsync.Value) {
	if v.IsZero() {
		*dst = val{}
		return
	}
	dst.k, dst.one, dst.many = kOne, *v, nil
}

func setBool(dst *val, b bool) {
	*dst = val{k: kOne}
	dst.one.Type = typeBoolean
	if b {
		dst.one.Int = 1
	}
}

func setInt(dst *val, n int64) {
	*dst = val{k: kOne}
	dst.one.Type, dst.one.Int = typeInteger, n
}

func (f *frame) param(n *paramNode, dst *val) error {
	s, ok := f.env.Param(n.name)
	if !ok {
		*dst = val{}
		return nil
	}
	*dst = val{k: kOne}
	dst.one.Type, dst.one.Str = typeString, s
	return nil
}

func (f *frame) neg(n *negNode, dst *val) error {
	var x val
	if err := f.eval(n.x, &x); err != nil {
		return err
	}
	if x.isFlag() {
		return evalErr("-", "%s can't be an operand", x.flagName())
	}
	out := make([]idsync.Value, 0, x.n())
	for i := range x.n() {
		n, err := toNum("-", x.get(i))
		if err != nil {
			return err
		}
		out = append(out, intVal(-n))
	}
	setMany(dst, out)
	return nil
}

func (f *frame) call(n *callNode, dst *val) error {
	fn := n.fn
	switch {
	case fn.special != spNone:
		return f.callSpecial(n, dst)
	case fn.pred != nil:
		var v val
		if err := f.eval(n.args[0], &v); err != nil {
			return err
		}
		if v.isFlag() {
			return flagArg(fn, &v)
		}
		setBool(dst, fn.pred(v))
		return nil
	case fn.list != nil:
		return f.callList(n, dst)
	case len(n.args) == 0:
		return f.mapScalar(fn, nil, dst)
	case len(n.args) == 1:
		return f.call1(n, dst)
	case len(n.args) == 2:
		return f.call2(n, dst)
	}
	return f.callList(n, dst)
}

func flagArg(fn *funcDef, v *val) error {
	return evalErr(fn.name, "%s can only be the result of the expression (or of IIF, Switch or With)", v.flagName())
}

// call1 and call2 keep the arguments of per-value functions in local
// arrays, which stay on the stack.
func (f *frame) call1(n *callNode, dst *val) error {
	var buf [1]val
	if err := f.eval(n.args[0], &buf[0]); err != nil {
		return err
	}
	if buf[0].isFlag() {
		return flagArg(n.fn, &buf[0])
	}
	return f.mapScalar(n.fn, buf[:], dst)
}

func (f *frame) call2(n *callNode, dst *val) error {
	var buf [2]val
	for i, a := range n.args {
		if err := f.eval(a, &buf[i]); err != nil {
			return err
		}
		if buf[i].isFlag() {
			return flagArg(n.fn, &buf[i])
		}
	}
	return f.mapScalar(n.fn, buf[:], dst)
}

func (f *frame) callSpecial(n *callNode, dst *val) error {
	switch n.fn.special {
	case spIIF:
		return f.iif(n, dst)
	case spSwitch:
		return f.switch_(n, dst)
	case spSelect, spWhere:
		return f.selectWhere(n, dst)
	case spWith:
		slot := n.args[0].(*varNode).slot
		if err := f.eval(n.args[1], &f.vars[slot]); err != nil {
			return err
		}
		return f.eval(n.args[2], dst)
	case spImported:
		setMany(dst, f.env.Imported(n.attr))
		return nil
	}
	setInt(dst, int64(len(f.env.Attr(n.attr)))) // spValueCount
	return nil
}

// callList evaluates the arguments onto the frame's stack and calls a
// function that takes whole lists (or a per-value function with many
// arguments).
func (f *frame) callList(n *callNode, dst *val) error {
	fn := n.fn
	base := len(f.stack)
	// Each argument is evaluated into a local and then pushed: evaluating
	// it may grow (and so move) the stack.
	var v val
	for _, a := range n.args {
		if err := f.eval(a, &v); err != nil {
			f.unwind(base)
			return err
		}
		if v.isFlag() {
			f.unwind(base)
			return flagArg(fn, &v)
		}
		f.stack = append(f.stack, v)
	}
	args := f.stack[base:]
	var err error
	if fn.list != nil {
		v, err = fn.list(f, args)
		*dst = v
	} else {
		err = f.mapScalar(fn, args, dst)
	}
	f.unwind(base)
	return err
}

// unwind pops the stack back to base. The popped slots are not cleared:
// the frame is reused at once, and sync.Pool drops idle frames at GC.
func (f *frame) unwind(base int) { f.stack = f.stack[:base] }

// mapScalar applies a per-value function. When an argument has several
// values the function is applied to each (pairing it with the single
// values of the other arguments); a NULL result drops that value.
func (f *frame) mapScalar(fn *funcDef, args []val, dst *val) error {
	n := 1
	for i := range args {
		switch c := args[i].n(); {
		case c == 0:
			switch {
			case fn.null == nullFalse:
				setBool(dst, false)
				return nil
			case fn.null == nullEmpty && i == 0:
				if nullOthers(args) {
					*dst = val{}
					return nil
				}
				*dst = val{k: kOne}
				dst.one.Type = typeString
				return nil
			case fn.null != nullPass:
				*dst = val{}
				return nil
			}
		case c > 1:
			if n > 1 && c != n {
				return evalErr(fn.name, "multi-valued arguments have different numbers of values (%d and %d)", n, c)
			}
			n = c
		}
	}
	a := f.sargs[:len(args)]
	if n == 1 {
		for j := range args {
			if args[j].k == kOne {
				a[j] = args[j].one
			} else {
				a[j] = idsync.Value{}
			}
		}
		f.res = idsync.Value{}
		if err := fn.scalar(f, a, &f.res); err != nil {
			return err
		}
		setOne(dst, &f.res)
		return nil
	}
	out := make([]idsync.Value, 0, n)
	r := &f.res
	for i := range n {
		for j := range args {
			if args[j].k == kNull {
				a[j] = idsync.Value{}
			} else {
				a[j] = args[j].get(i)
			}
		}
		*r = idsync.Value{}
		if err := fn.scalar(f, a, r); err != nil {
			return err
		}
		if !r.IsZero() {
			out = append(out, *r)
		}
	}
	setMany(dst, out)
	return nil
}

// nullOthers reports whether an argument after the first is NULL.
func nullOthers(args []val) bool {
	for i := 1; i < len(args); i++ {
		if args[i].k == kNull {
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
func (f *frame) iif(n *callNode, dst *val) error {
	var c val
	if err := f.eval(n.args[0], &c); err != nil {
		return err
	}
	if c.k != kMany {
		b, err := truth("IIF", &c)
		if err != nil {
			return err
		}
		if b {
			return f.eval(n.args[1], dst)
		}
		return f.eval(n.args[2], dst)
	}
	conds := make([]bool, len(c.many))
	var anyTrue, anyFalse bool
	for i, x := range c.many {
		b, err := toBool("IIF", x)
		if err != nil {
			return err
		}
		conds[i] = b
		anyTrue = anyTrue || b
		anyFalse = anyFalse || !b
	}
	var t, e val
	if anyTrue {
		if err := f.eval(n.args[1], &t); err != nil {
			return err
		}
	}
	if anyFalse {
		if err := f.eval(n.args[2], &e); err != nil {
			return err
		}
	}
	out := make([]idsync.Value, 0, len(conds))
	for i, b := range conds {
		br := &e
		if b {
			br = &t
		}
		if br.isFlag() {
			*dst = *br // a flag chosen for any value is the result of the whole flow
			return nil
		}
		switch br.n() {
		case 0:
		case 1:
			out = append(out, br.one)
		case len(conds):
			out = append(out, br.many[i])
		default:
			return evalErr("IIF", "the condition has %d values but the chosen value has %d", len(conds), br.n())
		}
	}
	setMany(dst, out)
	return nil
}

// switch_ evaluates every condition (as the reference does), then only the
// value paired with the first true one. No true condition gives NULL.
func (f *frame) switch_(n *callNode, dst *val) error {
	chosen := -1
	var c val
	for i := 0; i < len(n.args); i += 2 {
		if err := f.eval(n.args[i], &c); err != nil {
			return err
		}
		b, err := truth("Switch", &c)
		if err != nil {
			return err
		}
		if b && chosen < 0 {
			chosen = i + 1
		}
	}
	if chosen < 0 {
		*dst = val{}
		return nil
	}
	return f.eval(n.args[chosen], dst)
}

func (f *frame) selectWhere(n *callNode, dst *val) error {
	var coll val
	if err := f.eval(n.args[1], &coll); err != nil {
		return err
	}
	if coll.isFlag() {
		return evalErr(n.fn.name, "%s is not a collection", coll.flagName())
	}
	slot := n.args[0].(*varNode).slot
	out := make([]idsync.Value, 0, coll.n())
	var r val
	for i := range coll.n() {
		x := coll.get(i)
		f.vars[slot] = one(x)
		if err := f.eval(n.args[2], &r); err != nil {
			return err
		}
		if n.fn.special == spWhere {
			keep, err := truth("Where", &r)
			if err != nil {
				return err
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
			return evalErr("Select", "%s can't be a selected value", r.flagName())
		}
	}
	f.vars[slot] = val{}
	setMany(dst, out)
	return nil
}

// concat joins the parts of a & chain. A NULL part counts as nothing (as
// in VBA, "a" & NULL is "a"); all parts NULL give NULL. Binary parts join
// into a binary value when every part is binary.
func (f *frame) concat(n *concatNode, dst *val) error {
	base := len(f.stack)
	defer f.unwind(base)
	cnt := 1
	nonNull := 0
	var part val
	for _, p := range n.parts {
		// Evaluate into a local, then push: evaluating may move the stack.
		v := &part
		if err := f.eval(p, v); err != nil {
			return err
		}
		if v.isFlag() {
			return evalErr("&", "%s can't be an operand", v.flagName())
		}
		if c := v.n(); c > 1 {
			if cnt > 1 && c != cnt {
				return evalErr("&", "multi-valued operands have different numbers of values (%d and %d)", cnt, c)
			}
			cnt = c
		}
		if v.k != kNull {
			nonNull++
		}
		f.stack = append(f.stack, part)
	}
	parts := f.stack[base:]
	if nonNull == 0 {
		*dst = val{}
		return nil
	}
	if cnt == 1 {
		*dst = val{k: kOne}
		return joinParts(parts, 0, &dst.one)
	}
	out := make([]idsync.Value, cnt)
	for i := range cnt {
		if err := joinParts(parts, i, &out[i]); err != nil {
			return err
		}
	}
	setMany(dst, out)
	return nil
}

func joinParts(parts []val, i int, r *idsync.Value) error {
	allBin := true
	size := 0
	for j := range parts {
		p := &parts[j]
		if p.k == kNull {
			continue
		}
		v := p.at(i)
		if v.Type != typeBinary {
			allBin = false
		}
		size += len(v.Str) + len(v.Bin)
	}
	if allBin {
		b := make([]byte, 0, size)
		for j := range parts {
			if p := &parts[j]; p.k != kNull {
				b = append(b, p.at(i).Bin...)
			}
		}
		r.Type, r.Bin = typeBinary, b
		return nil
	}
	var sb strings.Builder
	sb.Grow(size + 8)
	for j := range parts {
		p := &parts[j]
		if p.k == kNull {
			continue
		}
		v := p.at(i)
		if v.Type == typeString || v.Type == typeReference {
			sb.WriteString(v.Str)
			continue
		}
		s, err := text("&", *v)
		if err != nil {
			return err
		}
		sb.WriteString(s)
	}
	r.Type, r.Str = typeString, sb.String()
	return nil
}

// binary evaluates the operators other than &.
func (f *frame) binary(n *binNode, dst *val) error {
	var l val
	if err := f.eval(n.l, &l); err != nil {
		return err
	}
	if l.isFlag() {
		return evalErr(n.op.String(), "%s can't be an operand", l.flagName())
	}
	if n.op == tAnd || n.op == tOr {
		return f.logical(n, &l, dst)
	}
	var r val
	if err := f.eval(n.r, &r); err != nil {
		return err
	}
	if r.isFlag() {
		return evalErr(n.op.String(), "%s can't be an operand", r.flagName())
	}
	ln, rn := l.n(), r.n()
	if ln == 0 || rn == 0 {
		*dst = val{} // NULL in arithmetic and comparisons gives NULL, as in VBA
		return nil
	}
	if ln == 1 && rn == 1 {
		*dst = val{k: kOne}
		return binop(n.op, &l.one, &r.one, &dst.one)
	}
	if ln > 1 && rn > 1 && ln != rn {
		return evalErr(n.op.String(), "multi-valued operands have different numbers of values (%d and %d)", ln, rn)
	}
	cnt := max(ln, rn)
	out := make([]idsync.Value, cnt)
	for i := range cnt {
		if err := binop(n.op, l.at(i), r.at(i), &out[i]); err != nil {
			return err
		}
	}
	setMany(dst, out)
	return nil
}

// logical evaluates && and ||. NULL counts as False. The right operand is
// not evaluated when the left one decides.
func (f *frame) logical(n *binNode, l, dst *val) error {
	op := n.op.String()
	a, err := truth(op, l)
	if err != nil {
		return err
	}
	if n.op == tOr && a || n.op == tAnd && !a {
		setBool(dst, a)
		return nil
	}
	var r val
	if err := f.eval(n.r, &r); err != nil {
		return err
	}
	b, err := truth(op, &r)
	if err != nil {
		return err
	}
	setBool(dst, b)
	return nil
}

func binop(op tokKind, a, b, r *idsync.Value) error {
	switch op {
	case tEq:
		*r = boolVal(equal(a, b))
		return nil
	case tNe:
		*r = boolVal(!equal(a, b))
		return nil
	case tLt, tLe, tGt, tGe:
		c, err := order(op.String(), *a, *b)
		if err != nil {
			return err
		}
		switch op {
		case tLt:
			*r = boolVal(c < 0)
		case tLe:
			*r = boolVal(c <= 0)
		case tGt:
			*r = boolVal(c > 0)
		default:
			*r = boolVal(c >= 0)
		}
		return nil
	}
	name := op.String()
	x, err := toNum(name, *a)
	if err != nil {
		return err
	}
	y, err := toNum(name, *b)
	if err != nil {
		return err
	}
	switch op {
	case tPlus:
		*r = intVal(x + y)
	case tMinus:
		*r = intVal(x - y)
	case tStar:
		*r = intVal(x * y)
	case tSlash:
		if y == 0 {
			return evalErr("/", "division by zero")
		}
		*r = intVal(x / y)
	default:
		return evalErr(name, "internal error: unknown operator")
	}
	return nil
}
