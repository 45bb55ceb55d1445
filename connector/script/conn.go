package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// conn is an open script connector: a private working directory holding
// the inline scripts and the common module, and the resolved secrets.
type conn struct {
	cfg     *Config
	env     connector.Env
	log     *slog.Logger
	workDir string
	common  string            // path of the common module, or ""
	scripts map[string]string // operation -> path of the script
	params  []resolvedParam
	creds   *credentials
	secrets []string // values to redact from everything the scripts print
	envv    []string // the scripts' environment
	schema  *schema  // cached for the session

	outMu  sync.Mutex
	outBuf *bytes.Buffer // stdout buffer kept for the next call (see takeOut)
}

type resolvedParam struct {
	Parameter
	value string
}

var (
	_ connector.Pinger              = (*conn)(nil)
	_ connector.SchemaDiscoverer    = (*conn)(nil)
	_ connector.PartitionLister     = (*conn)(nil)
	_ connector.HierarchyDiscoverer = (*conn)(nil)
	_ connector.Importer            = (*conn)(nil)
	_ connector.DeltaImporter       = (*conn)(nil)
	_ connector.Exporter            = (*conn)(nil)
	_ connector.PasswordChanger     = (*conn)(nil)
)

func open(_ context.Context, cfg *Config, env connector.Env) (_ connector.Connector, err error) {
	c := &conn{cfg: cfg, env: env, log: env.Logger, scripts: map[string]string{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if !cfg.Password.IsZero() || cfg.Username != "" {
		c.creds = &credentials{Username: cfg.Username}
		if !cfg.Password.IsZero() {
			pw, err := cfg.Password.Resolve(env)
			if err != nil {
				return nil, fmt.Errorf("script: password: %w", err)
			}
			c.creds.Password = pw.Reveal()
			c.secrets = append(c.secrets, pw.Reveal())
		}
	}
	for _, p := range cfg.Parameters {
		rp := resolvedParam{Parameter: p, value: p.Value.Text}
		if !p.Value.Secret.IsZero() {
			s, err := p.Value.Secret.Resolve(env)
			if err != nil {
				return nil, fmt.Errorf("script: parameter %s: %w", p.Key(), err)
			}
			rp.value = s.Reveal()
			c.secrets = append(c.secrets, s.Reveal())
		}
		c.params = append(c.params, rp)
	}
	// Longest first, so that a secret containing another is redacted whole.
	slices.SortFunc(c.secrets, func(a, b string) int { return len(b) - len(a) })

	dir, err := os.MkdirTemp("", "idsync-script-")
	if err != nil {
		return nil, fmt.Errorf("script: working directory: %w", err)
	}
	c.workDir = dir
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("script: working directory: %w", err)
	}
	if cfg.CommonModule != nil {
		c.common = filepath.Join(dir, cfg.commonModuleName())
		body, err := c.body(cfg.CommonModule)
		if err != nil {
			return nil, fmt.Errorf("script: commonModule: %w", err)
		}
		if err := os.WriteFile(c.common, body, 0o600); err != nil {
			return nil, fmt.Errorf("script: commonModule: %w", err)
		}
	}
	for _, op := range Operations {
		s := cfg.Scripts.Get(op)
		if s == nil {
			continue
		}
		if s.File != "" {
			p := c.abs(s.File)
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("script: scripts.%s: %w", op, err)
			}
			c.scripts[op] = p
			continue
		}
		p := filepath.Join(dir, op+cfg.extension())
		if err := os.WriteFile(p, []byte(s.Inline), 0o700); err != nil {
			return nil, fmt.Errorf("script: scripts.%s: %w", op, err)
		}
		c.scripts[op] = p
	}
	path := cfg.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	c.envv = []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + filepath.Join(dir, "tmp"), "IDSYNC_CONNECTOR=" + env.Name, "IDSYNC_WORKDIR=" + dir}
	if c.common != "" {
		c.envv = append(c.envv, "IDSYNC_COMMON_MODULE="+c.common)
	}
	for _, k := range sortedKeys(cfg.Environment) {
		c.envv = append(c.envv, k+"="+cfg.Environment[k])
	}
	return c, nil
}

func (c *conn) abs(p string) string {
	if filepath.IsAbs(p) || c.env.Dir == "" {
		return p
	}
	return filepath.Join(c.env.Dir, p)
}

func (c *conn) body(s *Source) ([]byte, error) {
	if s.File != "" {
		return os.ReadFile(c.abs(s.File))
	}
	return []byte(s.Inline), nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Close removes the working directory.
func (c *conn) Close() error {
	if c.workDir == "" {
		return nil
	}
	err := os.RemoveAll(c.workDir)
	c.workDir = ""
	c.outMu.Lock()
	c.outBuf = nil
	c.outMu.Unlock()
	if err != nil {
		return fmt.Errorf("script: remove working directory: %w", err)
	}
	return nil
}

// redact replaces every secret value in s.
func (c *conn) redact(s string, extra ...string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	for _, sec := range extra {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// scope says which parameters a call sees.
type scope struct {
	partition string
	step      idsync.StepType // "" outside a run step
	inStep    bool
}

// parameters returns the Name_Scope table of a call: Global always,
// Partition when the call concerns a partition, RunStep during a run
// step. A value restricted to this partition or step wins over a general one.
func (c *conn) parameters(sc scope) map[string]string {
	out := make(map[string]string, len(c.params))
	specific := map[string]bool{}
	for _, p := range c.params {
		switch p.scope() {
		case ScopePartition:
			if p.Partition != "" && p.Partition != sc.partition {
				continue
			}
		case ScopeRunStep:
			if !sc.inStep || p.Step != "" && idsync.StepType(p.Step) != sc.step {
				continue
			}
		}
		k := p.Key()
		isSpecific := p.Partition != "" || p.Step != ""
		if specific[k] && !isSpecific {
			continue
		}
		out[k] = p.value
		specific[k] = specific[k] || isSpecific
	}
	return out
}

func (c *conn) newInput(op string, sc scope) *input {
	return &input{
		Operation:        op,
		Connector:        c.env.Name,
		WorkDir:          c.workDir,
		ConfigDir:        c.env.Dir,
		CommonModule:     c.common,
		ConfigParameters: c.parameters(sc),
		Credentials:      c.creds,
	}
}

// scriptName says which script ran, for errors: the file, or the inline script.
func (c *conn) scriptName(op string) string {
	if s := c.cfg.Scripts.Get(op); s != nil && s.File != "" {
		return s.File
	}
	return "inline " + op
}

// CallError is the failure of one script call: it names the operation
// and the script and carries the (redacted) tail of its stderr.
type CallError struct {
	Connector string
	Operation string
	Script    string
	Err       error
	Stderr    string
}

func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "script connector %s: %s (%s): %v", e.Connector, e.Operation, e.Script, e.Err)
	if e.Stderr != "" {
		b.WriteString("; stderr: ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *CallError) Unwrap() error { return e.Err }

// maxStderr is how much of a script's stderr is kept (the end of it).
const maxStderr = 8 << 10

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf       []byte
	max       int
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.truncated = true
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "\uFFFD"))
	if t.truncated {
		s = "…" + s
	}
	return s
}

// limitBuffer fails writes past max bytes. It does not embed
// bytes.Buffer, whose ReadFrom would bypass the limit in io.Copy; its own
// ReadFrom reads the script's stdout straight into the buffer.
type limitBuffer struct {
	buf      *bytes.Buffer
	max      int
	exceeded bool
	onExceed func() // kills the script: nobody reads its output any more
}

var errTooMuchOutput = errors.New("too much output")

func (l *limitBuffer) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.max {
		l.exceed()
		return 0, errTooMuchOutput
	}
	return l.buf.Write(p)
}

// ReadFrom reads r to its end (io.Copy uses it), at most one byte past
// the limit, which is too much output.
func (l *limitBuffer) ReadFrom(r io.Reader) (int64, error) {
	if l.exceeded {
		return 0, errTooMuchOutput
	}
	n, err := l.buf.ReadFrom(io.LimitReader(r, int64(l.max-l.buf.Len())+1))
	if l.buf.Len() > l.max {
		l.buf.Truncate(l.max)
		l.exceed()
		return n - 1, errTooMuchOutput
	}
	return n, err
}

func (l *limitBuffer) exceed() {
	if !l.exceeded && l.onExceed != nil {
		l.onExceed()
	}
	l.exceeded = true
}

func (l *limitBuffer) Len() int      { return l.buf.Len() }
func (l *limitBuffer) Bytes() []byte { return l.buf.Bytes() }

// maxKeptOutput is the largest stdout buffer kept for the next call.
const maxKeptOutput = 64 << 20

// takeOut returns an empty stdout buffer: the one the last call used
// (an import's pages are of a size, so the next page is read without
// growing a buffer), else a new one.
func (c *conn) takeOut() *bytes.Buffer {
	c.outMu.Lock()
	b := c.outBuf
	c.outBuf = nil
	c.outMu.Unlock()
	if b == nil {
		return new(bytes.Buffer)
	}
	b.Reset()
	return b
}

// putOut keeps b for the next call; nothing may use its bytes any more.
func (c *conn) putOut(b *bytes.Buffer) {
	if b.Cap() > maxKeptOutput {
		return
	}
	c.outMu.Lock()
	if c.outBuf == nil || c.outBuf.Cap() < b.Cap() {
		c.outBuf = b
	}
	c.outMu.Unlock()
}

// call runs the script of op with in on stdin and decodes its result.
// extraSecrets are redacted from its stderr and error messages (the
// passwords of a password call).
func (c *conn) call(ctx context.Context, op string, in *input, extraSecrets ...string) (*result, error) {
	path, ok := c.scripts[op]
	if !ok {
		return nil, errors.ErrUnsupported
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fail := func(err error, stderr string) error {
		return &CallError{Connector: c.env.Name, Operation: op, Script: c.scriptName(op), Err: err, Stderr: c.redact(stderr, extraSecrets...)}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		return nil, fail(fmt.Errorf("encode input: %w", err), "")
	}
	timeout := c.cfg.timeout()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := append(slices.Clone(c.cfg.Interpreter), path)
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Dir = c.workDir
	cmd.Env = c.envv
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &limitBuffer{buf: c.takeOut(), max: c.cfg.maxOutput(), onExceed: cancel}
	defer c.putOut(stdout.buf) // the result is a copy (out below)
	stderr := &tailBuffer{max: maxStderr}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	c.log.Debug("script call", "operation", op, "script", c.scriptName(op), "elapsed", elapsed, "stdoutBytes", stdout.Len())
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fail(ctx.Err(), stderr.String())
		case stdout.exceeded:
			return nil, fail(fmt.Errorf("printed more than %d bytes on stdout (its process group was killed)", stdout.max), stderr.String())
		case errors.Is(cctx.Err(), context.DeadlineExceeded):
			return nil, fail(fmt.Errorf("timed out after %v (its process group was killed)", timeout), stderr.String())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ee.Exited() {
				return nil, fail(fmt.Errorf("exited with status %d", ee.ExitCode()), stderr.String())
			}
			return nil, fail(fmt.Errorf("crashed: %v", ee.ProcessState), stderr.String())
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			return nil, fail(errors.New("exited but left processes holding its output open"), stderr.String())
		}
		return nil, fail(fmt.Errorf("run %s: %w", argv[0], err), stderr.String())
	}
	if s := stderr.String(); s != "" {
		c.log.Warn("script wrote to stderr", "operation", op, "script", c.scriptName(op), "stderr", c.redact(s, extraSecrets...))
	}
	// One copy of the document, as a string: the strings read from it
	// are slices of it, and the buffer serves the next call.
	out := string(bytes.TrimSpace(stdout.Bytes()))
	if len(out) == 0 {
		return nil, fail(errors.New("printed no result document on stdout (want one JSON object)"), stderr.String())
	}
	var res result
	if out[0] != '{' {
		excerpt := strings.ToValidUTF8(out[:min(len(out), 40)], "\uFFFD")
		return nil, fail(fmt.Errorf("malformed result: want one JSON object, got %q", c.redact(excerpt, extraSecrets...)), stderr.String())
	}
	// An importData page is validated with its conversion, while the
	// next page's call runs (see runImport); every other result now.
	validate := op != OpImportData
	if err := parseResult(out, &res, validate); err != nil {
		if !validate && !validJSON(out) {
			var v any
			err = json.Unmarshal([]byte(out), &v) // the syntax error, with its offset
		}
		return nil, fail(c.jsonError(out, err, extraSecrets), stderr.String())
	}
	if !validate {
		res.raw = out
	}
	if res.Error != nil && (res.Error.Name != "" || res.Error.Detail != "") {
		res.Error.Detail = c.redact(res.Error.Detail, extraSecrets...)
		res.Error.Name = c.redact(res.Error.Name, extraSecrets...)
		return &res, fail(res.Error, stderr.String())
	}
	res.Error = nil
	return &res, nil
}

// jsonError describes malformed output with its position and a short,
// redacted excerpt.
func (c *conn) jsonError(out string, err error, extra []string) error {
	off := -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = int(se.Offset)
	case errors.As(err, &te):
		off = int(te.Offset)
	}
	if off < 0 || off > len(out) {
		return fmt.Errorf("malformed result: %v", err)
	}
	line := 1 + strings.Count(out[:off], "\n")
	lo := max(0, off-30)
	hi := min(len(out), off+10)
	excerpt := strings.ToValidUTF8(out[lo:hi], "\uFFFD")
	return fmt.Errorf("malformed result at line %d, byte %d (near %q): %v", line, off, c.redact(excerpt, extra...), err)
}

// Ping runs the validation script.
func (c *conn) Ping(ctx context.Context) error {
	_, err := c.call(ctx, OpValidate, c.newInput(OpValidate, scope{}))
	return err
}

// Schema returns the schema script's result, or the static schema.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	s, err := c.loadSchema(ctx)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.ErrUnsupported
	}
	return s.idsync(), nil
}

// loadSchema returns the session's schema, calling the schema script
// once; nil when there is neither a script nor a static schema.
func (c *conn) loadSchema(ctx context.Context) (*schema, error) {
	if c.schema != nil {
		return c.schema, nil
	}
	var doc *schemaDoc
	switch {
	case c.cfg.Scripts.Schema != nil:
		res, err := c.call(ctx, OpSchema, c.newInput(OpSchema, scope{}))
		if err != nil {
			return nil, err
		}
		if err := res.Schema.check(); err != nil {
			return nil, &CallError{Connector: c.env.Name, Operation: OpSchema, Script: c.scriptName(OpSchema), Err: err}
		}
		doc = res.Schema
	case c.cfg.Schema != nil:
		b, err := c.body(c.cfg.Schema)
		if err != nil {
			return nil, fmt.Errorf("script: schema: %w", err)
		}
		d, err := parseSchemaDoc(b)
		if err != nil {
			return nil, fmt.Errorf("script: schema %s: %w", c.cfg.Schema.File, err)
		}
		doc = d
	default:
		return nil, nil
	}
	c.schema = newSchema(doc)
	return c.schema, nil
}

// Partitions runs the partitions script.
func (c *conn) Partitions(ctx context.Context) ([]connector.Partition, error) {
	res, err := c.call(ctx, OpPartitions, c.newInput(OpPartitions, scope{}))
	if err != nil {
		return nil, err
	}
	out := make([]connector.Partition, 0, len(res.Partitions))
	seen := map[string]bool{}
	for i, p := range res.Partitions {
		if p.Name == "" || seen[p.Name] {
			return nil, &CallError{Connector: c.env.Name, Operation: OpPartitions, Script: c.scriptName(OpPartitions),
				Err: fmt.Errorf("partitions[%d]: name %q empty or repeated", i, p.Name)}
		}
		seen[p.Name] = true
		out = append(out, connector.Partition{Name: p.Name, DN: p.DN})
	}
	return out, nil
}

// Children runs the hierarchy script for one node.
func (c *conn) Children(ctx context.Context, parentDN string) ([]connector.HierarchyNode, error) {
	in := c.newInput(OpHierarchy, scope{})
	in.HierarchyNode = &hierarchyNode{DN: parentDN}
	res, err := c.call(ctx, OpHierarchy, in)
	if err != nil {
		return nil, err
	}
	out := make([]connector.HierarchyNode, 0, len(res.HierarchyNodes))
	for i, n := range res.HierarchyNodes {
		if n.DN == "" {
			return nil, &CallError{Connector: c.env.Name, Operation: OpHierarchy, Script: c.scriptName(OpHierarchy),
				Err: fmt.Errorf("hierarchyNodes[%d] has no dn", i)}
		}
		out = append(out, connector.HierarchyNode{Name: n.Name, DN: n.DN})
	}
	return out, nil
}

// SetPassword runs the password script with operation "set".
func (c *conn) SetPassword(ctx context.Context, anchor idsync.Anchor, dn string, password connector.Secret, opts connector.PasswordOptions) error {
	return c.password(ctx, &passwordDoc{Operation: "set", Anchor: string(anchor), DN: dn, NewPassword: password.Reveal(),
		Options: passwordOptions{UnlockAccount: opts.UnlockAccount, ForceChangeAtLogOn: opts.ForceChangeAtLogOn, ValidatePassword: opts.ValidatePassword}})
}

// ChangePassword runs the password script with operation "change".
func (c *conn) ChangePassword(ctx context.Context, anchor idsync.Anchor, dn string, oldPassword, newPassword connector.Secret) error {
	return c.password(ctx, &passwordDoc{Operation: "change", Anchor: string(anchor), DN: dn, NewPassword: newPassword.Reveal(), OldPassword: oldPassword.Reveal()})
}

func (c *conn) password(ctx context.Context, pd *passwordDoc) error {
	in := c.newInput(OpPassword, scope{})
	in.Password = pd
	_, err := c.call(ctx, OpPassword, in, pd.NewPassword, pd.OldPassword)
	var ce *CallError
	var se *scriptError
	if errors.As(err, &ce) && errors.As(err, &se) {
		switch strings.ToLower(se.Name) {
		case "passwordpolicyviolation":
			ce.Err = fmt.Errorf("%w: %s", connector.ErrPasswordPolicyViolation, se.Detail)
		case "passwordillformed":
			ce.Err = fmt.Errorf("%w: %s", connector.ErrPasswordIllFormed, se.Detail)
		}
	}
	return err
}
