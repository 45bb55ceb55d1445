package script_test

import (
	"context"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
)

// TestSpec10_ImportPagesDefaultTo9999: with no pageSize configured, the
// import data script is asked for pages of 9,999 objects, and a page of
// 10,000 is refused.
func TestSpec10_ImportPagesDefaultTo9999(t *testing.T) {
	needTool(t, "python3")
	// The script answers with the page size it was given, and as many
	// entries as the parameter Extra says beyond it.
	const body = `import json, sys
doc = json.load(sys.stdin)
size = doc["runStep"]["pageSize"]
extra = int(doc["configParameters"]["Extra_Global"])
n = 1 if extra == 0 else size + extra
entries = [{"objectType": "person", "anchor": "p%d" % i, "attributes": {"pageSize": size}} for i in range(n)]
print(json.dumps({"entries": entries, "moreToImport": False}))
`
	for _, extra := range []int{0, 1} {
		cfg := &script.Config{
			Interpreter: []string{python3()},
			Scripts:     script.Scripts{ImportData: &script.Source{Inline: body}},
			Parameters:  []script.Parameter{{Name: "Extra", Scope: "Global", Value: script.ParamValue{Text: itoa(extra)}}},
		}
		c, err := cfg.Open(context.Background(), testEnv(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		var got []idsync.Entry
		_, err = c.(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
			got = append(got, e)
			return nil
		})
		c.Close()
		if extra == 0 {
			if err != nil || len(got) != 1 || !got[0].Attrs.Get("pageSize").Equal(idsync.Int(9999)) {
				t.Fatalf("import: %v, entries %+v; want one entry saying pageSize 9999", err, got)
			}
			continue
		}
		if err == nil || len(got) != 0 {
			t.Errorf("a page of 10,000 entries: import error %v after %d entries, want an error and nothing emitted", err, len(got))
		}
	}
}
