package script_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
)

// exportData results are matched by identifier: success with a new anchor,
// a named error, a missing answer (an error on that entry); an unknown or
// repeated identifier fails the whole page.
func TestExportResults(t *testing.T) {
	needTool(t, "python3")
	changes := []idsync.Change{
		{ID: "a", Op: idsync.OpAdd, ObjectType: "person", DN: "uid=a", Mods: idsync.ModsFromAttrs(idsync.Attrs{"uid": {idsync.String("a")}})},
		{ID: "b", Op: idsync.OpUpdate, ObjectType: "person", Anchor: "B", DN: "uid=b", Mods: []idsync.AttrMod{
			{Name: "mail", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("x@y")}},
			{Name: "mail", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.String("old@y")}},
			{Name: "title", Op: idsync.AttrClear}}},
		{ID: "c", Op: idsync.OpDelete, ObjectType: "person", Anchor: "C", DN: "uid=c"},
	}
	for _, tc := range []struct {
		name, results string
		pageErr       string
		check         func(t *testing.T, res []connector.ExportResult)
	}{
		{"answers", `[{"identifier": "a", "errorName": "success", "anchor": "A1"}, {"identifier": "b", "errorName": "NoSuchObject", "errorDetail": "gone"}]`, "",
			func(t *testing.T, res []connector.ExportResult) {
				if res[0].Err != nil || res[0].Anchor != "A1" {
					t.Errorf("a: %+v", res[0])
				}
				if res[1].Err == nil || res[1].ErrorType != "NoSuchObject" || res[1].Err.Error() != "gone" {
					t.Errorf("b: %+v", res[1])
				}
				if res[2].Err == nil || res[2].ErrorType != "ExportErrorMissingResult" {
					t.Errorf("c: %+v", res[2])
				}
			}},
		{"unknown identifier", `[{"identifier": "zzz"}]`, `identifier "zzz" is not an entry of this page`, nil},
		{"twice", `[{"identifier": "a"}, {"identifier": "a"}]`, `identifier "a" answered twice`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := `import json, os, sys
doc = json.load(sys.stdin)
json.dump(doc["entries"], open(os.path.join(os.environ["OUT"], "entries.json"), "w"))
print(json.dumps({"results": ` + tc.results + `}))
`
			cfg := &script.Config{Interpreter: []string{python3()}, Environment: map[string]string{"OUT": dir},
				Scripts: script.Scripts{ExportData: &script.Source{Inline: body}},
				Schema:  &script.Source{Inline: "objectTypes: [{name: person, attributes: [{name: uid}, {name: mail, multiValued: true}, {name: title}]}]"}}
			c, err := cfg.Open(context.Background(), testEnv(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			sess, err := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{PageSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close(context.Background())
			res, err := sess.ExportPage(context.Background(), changes)
			if tc.pageErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.pageErr) || !strings.Contains(err.Error(), "exportData (inline exportData): page 1") {
					t.Fatalf("ExportPage = %v, want a page error %q", err, tc.pageErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res)
			got := readJSON(t, dir+"/entries.json")
			want := `[{"identifier":"a","objectType":"person","dn":"uid=a","modificationType":"Add","attributeChanges":[{"name":"uid","modificationType":"Add","valueChanges":[{"modificationType":"Add","value":"a"}]}],"attributes":{"uid":"a"},"changedAttributeNames":["uid"]},` +
				`{"identifier":"b","objectType":"person","anchor":"B","dn":"uid=b","modificationType":"Update","attributeChanges":[{"name":"mail","modificationType":"Update","valueChanges":[{"modificationType":"Add","value":"x@y"},{"modificationType":"Delete","value":"old@y"}]},{"name":"title","modificationType":"Delete"}],"attributes":{"title":null},"changedAttributeNames":["mail","title"]},` +
				`{"identifier":"c","objectType":"person","anchor":"C","dn":"uid=c","modificationType":"Delete","attributeChanges":[],"attributes":{},"changedAttributeNames":[]}]`
			if got != want {
				t.Errorf("entries handed to exportData:\n got %s\nwant %s", got, want)
			}
		})
	}
}
