package script_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
)

// Every way a call can fail is an error naming the connector, the
// operation and the script (here the validation script as Ping).
func TestCallFailures(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		maxOutput  int
		want       []string
	}{
		{"exit status", "echo oops >&2; exit 4", 0, []string{"exited with status 4", "stderr: oops"}},
		{"signal", "kill -9 $$", 0, []string{"crashed: signal: killed"}},
		{"no output", "exit 0", 0, []string{"printed no result document"}},
		{"not an object", "echo '[1,2]'", 0, []string{`malformed result: want one JSON object, got "[1,2]"`}},
		{"text after", `echo '{} {}'`, 0, []string{"malformed result at line 1", "invalid character '{' after top-level value"}},
		{"bad json", `printf '{\n"error": nope}'`, 0, []string{"malformed result at line 2"}},
		{"too much output", `echo '{"x": "0123456789012345678901234567890123456789"}'`, 16, []string{"printed more than 16 bytes on stdout"}},
		{"endless output", `yes '{}'`, 1 << 20, []string{"printed more than 1048576 bytes on stdout (its process group was killed)"}},
		{"error result", `echo '{"error": {"name": "Down", "detail": "the API is down"}}'`, 0, []string{"Down: the API is down"}},
		{"success", `echo '  {}  '`, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: &script.Source{Inline: tc.body}}, MaxOutput: tc.maxOutput}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			c, err := cfg.Open(context.Background(), testEnv(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.(connector.Pinger).Ping(context.Background())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Ping succeeded")
			}
			var ce *script.CallError
			if !errors.As(err, &ce) || ce.Operation != "validate" || ce.Script != "inline validate" {
				t.Errorf("error %v (%T) does not name the operation and script", err, err)
			}
			for _, w := range append([]string{"script connector scripted: validate (inline validate)"}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// Cancelling the context kills the script's process group at once.
func TestCallCancel(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := &script.Config{Interpreter: []string{"sh"}, Environment: map[string]string{"PIDFILE": pidFile},
		Scripts: script.Scripts{Validate: &script.Source{Inline: `sleep 60 & echo $! > "$PIDFILE"; wait`}}}
	c, err := cfg.Open(context.Background(), testEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	err = c.(connector.Pinger).Ping(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping after cancel = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancel took %v", d)
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	for _, ch := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(ch-'0')
	}
	if alive(pid) {
		t.Errorf("the script's child %d survived the cancellation", pid)
	}
}

// A script with a #! line runs without interpreter; file scripts resolve
// against the configuration directory; a missing file fails Open.
func TestShebangAndFiles(t *testing.T) {
	env := testEnv(t, nil)
	if err := os.WriteFile(filepath.Join(env.Dir, "validate.sh"), []byte("#!/bin/sh\necho '{}'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*script.Config{
		{Scripts: script.Scripts{Validate: &script.Source{Inline: "#!/bin/sh\necho '{}'\n"}}},
		{Scripts: script.Scripts{Validate: &script.Source{File: "validate.sh"}}},
	} {
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		c, err := cfg.Open(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.(connector.Pinger).Ping(context.Background()); err != nil {
			t.Errorf("Ping: %v", err)
		}
		c.Close()
	}
	cfg := &script.Config{Scripts: script.Scripts{Validate: &script.Source{File: "missing.sh"}}}
	if _, err := cfg.Open(context.Background(), env); err == nil || !strings.Contains(err.Error(), "scripts.validate") {
		t.Errorf("Open with a missing script file = %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := &script.Source{Inline: "x"}
	for _, tc := range []struct {
		name string
		cfg  script.Config
		want string
	}{
		{"no scripts", script.Config{}, "no scripts"},
		{"inline and file", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: &script.Source{Inline: "x", File: "y"}}}, "inline or file, not both"},
		{"empty source", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: &script.Source{}}}, "needs inline"},
		{"no interpreter", script.Config{Scripts: script.Scripts{Validate: ok}}, "needs an interpreter"},
		{"begin without data", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{ImportBegin: ok}}, "importBegin/importEnd without scripts.importData"},
		{"export end without data", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{ExportEnd: ok}}, "exportBegin/exportEnd without scripts.exportData"},
		{"bad schema", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Schema: &script.Source{Inline: "objectTypes: [{name: p, anchorAttributes: [id]}]"}}, `anchor attribute "id" is not among its attributes`},
		{"bad type", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Schema: &script.Source{Inline: "objectTypes: [{name: p, attributes: [{name: a, type: float}]}]"}}, "unknown attribute type"},
		{"bad module name", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, CommonModuleName: "../x"}, "plain file name"},
		{"negative page size", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, PageSize: -1}, "pageSize must be positive"},
		{"bad env name", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Environment: map[string]string{"A=B": "x"}}, "invalid variable name"},
		{"param without name", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{}}}, "name is required"},
		{"bad scope", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "X", Scope: "Local"}}}, `unknown scope "Local"`},
		{"partition on global", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "X", Partition: "p"}}}, "scope Partition only"},
		{"bad step", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "X", Scope: "RunStep", Step: "sync"}}}, `unknown step "sync"`},
		{"literal secret", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "Key", Encrypted: true, Value: script.ParamValue{Text: "hunter2"}}}}, "never a literal"},
		{"duplicate", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "X"}, {Name: "X", Scope: "Global"}}}, "declared twice"},
		{"fine", script.Config{Interpreter: []string{"sh"}, Scripts: script.Scripts{Validate: ok}, Parameters: []script.Parameter{{Name: "X", Scope: "Partition"}, {Name: "X", Scope: "Partition", Partition: "p"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the literal secret: %v", err)
			}
		})
	}
}
