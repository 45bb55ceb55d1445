package aadc_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/idsync/idsync/aadc"
)

// fuzzImport checks that Import never panics and that every rule it
// converts is complete enough to write.
func fuzzImport(t *testing.T, name string, data []byte) {
	res := aadc.Import([]aadc.File{{Name: name, Data: data}}, aadc.Options{})
	for _, r := range res.Rules {
		if r.Name == "" || r.CSType == "" || r.MVType == "" {
			t.Fatalf("converted an incomplete rule: %+v", r)
		}
		if _, err := aadc.RuleYAML(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range res.Problems {
		if p.File != name {
			t.Fatalf("problem names file %q, want %q", p.File, name)
		}
	}
}

// seedFiles adds the small files among glob as seeds (large seeds make
// the fuzzer spend its time minimising).
func seedFiles(f *testing.F, glob string) {
	paths, _ := filepath.Glob(glob)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 1500 {
			f.Add(b)
		}
	}
}

func FuzzXML(f *testing.F) {
	seedFiles(f, defaultRules+"/SynchronizationRule_*.xml")
	f.Add([]byte("<synchronizationRule><name>x</name><direction>Inbound</direction></synchronizationRule>"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "r.xml", b) })
}

func FuzzMV(f *testing.F) {
	f.Add([]byte(`<saved-mv-configuration><mv-data><schema><dsml:dsml xmlns:dsml="x"><dsml:directory-schema><dsml:class id="person"><dsml:name>person</dsml:name><dsml:attribute ref="#a"/></dsml:class><dsml:attribute-type id="a" single-value="true"><dsml:name>a</dsml:name><dsml:syntax>1.3.6.1.4.1.1466.115.121.1.15</dsml:syntax></dsml:attribute-type></dsml:directory-schema></dsml:dsml></schema></mv-data></saved-mv-configuration>`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "MV.xml", b) })
}

func FuzzDSC(f *testing.F) {
	b, err := os.ReadFile(dscRules)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:1500]) // the first rule, cut in its scope filter
	f.Add([]byte("Items:\n  - Name: R\n    ConnectorName: c\n    Direction: Outbound\n    SourceObjectType: person\n    TargetObjectType: user\n    Precedence: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "rules.yml", b) })
}

func FuzzPowerShell(f *testing.F) {
	b, err := os.ReadFile("testdata/ps/in-from-aad-user-join.ps1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:1200])
	f.Add([]byte("$r = New-ADSyncRule -Name 'a''b' -Direction Inbound -Precedence 1 -SourceObjectType user -TargetObjectType person -Connector c\n$r | Add-ADSyncRule\n"))
	f.Add([]byte("$c = New-Object Microsoft.IdentityManagement.PowerShell.ObjectModel.ScopeCondition\n$c.Attribute = \"x\"\n<# c #>\n@'\nx\n'@\n"))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzImport(t, "r.ps1", b) })
}
