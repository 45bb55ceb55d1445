package mimconfig

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/sqlconn"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// samplesDir holds MIM management-agent files from public sources.
const samplesDir = "../../shared/testdata/mim-ma"

func samples(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatalf("samples: %v", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), "LICENSE") {
			out = append(out, e.Name())
		}
	}
	if len(out) < 12 {
		t.Fatalf("found %d sample files, want every file of %s", len(out), samplesDir)
	}
	return out
}

func render(rs []*Result) []byte {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(r.YAML())
	}
	return b.Bytes()
}

// want says what each sample must become.
var want = map[string]struct {
	typ    string // idsync connector type; "" = not carried
	usable bool
}{
	"aadc-configdoc_AAD_Connector_{b891884f-051e-4a83-95af-2544101c9083}.xml":              {"", false},
	"aadc-configdoc_AD_Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml":               {"ldap", true},
	"granfeldt-psma_PSMA7_ma-exported.xml":                                                 {"script", true},
	"granfeldt-sqlma_sqlma_ma-exported.xml":                                                {"sql", true},
	"mimconfigdoc_ADAM_ADLDS_MA-{18160047-5056-41CB-8D2B-9EC4380DFF2E}.XML":                {"ldap", true},
	"mimconfigdoc_AD_ContosoActiveDirectory_MA-{A888E33C-C78A-4A39-B24F-C4599C9C2FE7}.XML": {"ldap", true},
	"mimconfigdoc_FIM_FIMService_MA-{B26849CC-16CD-4DDA-9D06-72A342B8060E}.XML":            {"", false},
	"mimconfigdoc_MSSQL_ContosoHRSystem_MA-{3126363E-CD92-4CD3-A05A-ABC342CDEB6D}.XML":     {"sql", true},
	"mimconfigdoc_MSSQL_HROrg_MA-{0C3357F1-FAD7-4E1E-88E2-A9CFCFE67491}.XML":               {"sql", true},
	"mimconfigdoc_MV.XML":                                         {"", false},
	"ms-ecma2host_PowerShell-CSV_Configuration.xml":               {"script", true},
	"ms-powershell-connector_Skype_LyncConnectorConfigExport.xml": {"script", true},
}

// TestSpec11_ImportMIMGolden converts every sample file and compares the
// output with testdata/<file>.golden (go test ./mimconfig -update
// rewrites them).
func TestSpec11_ImportMIMGolden(t *testing.T) {
	for _, name := range samples(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(samplesDir, name))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := Convert(name, data)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for sample %s: add it to want", name)
			}
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			r := rs[0]
			if r.Usable() != w.usable || r.Type != w.typ {
				t.Errorf("usable %v type %q, want %v %q", r.Usable(), r.Type, w.usable, w.typ)
			}
			if len(r.NotCarried) == 0 {
				t.Errorf("nothing reported as not carried: every MIM MA holds sync logic idsync keeps elsewhere")
			}
			got := render(rs)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantText, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden: %v (run go test ./mimconfig -update)", err)
			}
			if !bytes.Equal(got, wantText) {
				t.Errorf("output differs from %s (run go test ./mimconfig -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

// TestSpec11_ImportMIMNoSecrets proves that no secret reaches the output:
// passwords become environment references, and a literal password in a
// connection string is dropped.
func TestSpec11_ImportMIMNoSecrets(t *testing.T) {
	for _, name := range samples(t) {
		data, _ := os.ReadFile(filepath.Join(samplesDir, name))
		rs, err := Convert(name, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if !r.Usable() {
				continue
			}
			var doc struct {
				Connectors []struct {
					Settings map[string]any `yaml:"settings"`
				} `yaml:"connectors"`
			}
			if err := yaml.Unmarshal(r.YAML(), &doc); err != nil {
				t.Fatalf("%s: output is not YAML: %v", name, err)
			}
			pw, ok := doc.Connectors[0].Settings["password"]
			if !ok {
				continue
			}
			if m, isMap := pw.(map[string]any); !isMap || !strings.HasPrefix(fmt.Sprint(m["env"]), "IDSYNC_") {
				t.Errorf("%s: settings.password = %v, want {env: IDSYNC_...}", name, pw)
			}
		}
	}
	ma := `<export-ma><ma-data><name>HR</name><category>Extensible2</category><subtype>GenericSQL (Soren Granfeldt)</subtype>
<private-configuration><MAConfig><parameter-values>
<parameter name="Connection string" type="text" use="connectivity">data source=db1;initial catalog=hr;user id=svc;password=Sup3rSecret!</parameter>
<parameter name="Tablename" type="string" use="connectivity">[dbo].[people]</parameter>
<parameter name="Object class" type="drop-down" use="connectivity">Fixed</parameter>
<parameter name="Object class (name or column)" type="string" use="connectivity">person</parameter>
<parameter name="Anchor column name" type="string" use="connectivity">id</parameter>
</parameter-values></MAConfig></private-configuration></ma-data></export-ma>`
	rs, err := Convert("hr.xml", []byte(ma))
	if err != nil {
		t.Fatal(err)
	}
	out := string(rs[0].YAML()) + rs[0].Report()
	if strings.Contains(out, "Sup3rSecret") {
		t.Errorf("the connection string's password reached the output:\n%s", out)
	}
	if !strings.Contains(out, "password: {env: IDSYNC_HR_PASSWORD}") {
		t.Errorf("no environment reference for the password:\n%s", out)
	}
}

// TestSpec11_ImportMIMSQLLoads proves that the configuration written for
// every SQL sample loads (config.Load with the sql type registered):
// settings decode strictly and pass Validate, profiles are valid.
func TestSpec11_ImportMIMSQLLoads(t *testing.T) {
	reg := connector.NewRegistry(sqlconn.Type)
	n := 0
	for _, name := range samples(t) {
		if want[name].typ != "sql" {
			continue
		}
		n++
		data, _ := os.ReadFile(filepath.Join(samplesDir, name))
		rs, err := Convert(name, data)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "connector.yaml"), rs[0].YAML(), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(dir, reg)
		if err != nil {
			t.Errorf("%s: config.Load: %v", name, err)
			continue
		}
		cc := cfg.Connector(rs[0].Name)
		if cc == nil || cc.Type != "sql" || cc.Settings == nil {
			t.Errorf("%s: connector %q not loaded as sql: %+v", name, rs[0].Name, cc)
			continue
		}
		if len(cc.Profiles) == 0 {
			t.Errorf("%s: no run profiles carried", name)
		}
	}
	if n != 3 {
		t.Errorf("%d SQL samples, want 3", n)
	}
}

// TestImportMIMBadInput proves that unreadable files fail with an error
// naming the file and the element.
func TestImportMIMBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"empty", "", []string{"bad.xml", "no XML element"}},
		{"not xml", "hello", []string{"bad.xml", "not a readable XML file"}},
		{"truncated", "<export-ma><ma-data><name>x</name>", []string{"bad.xml", "XML syntax error"}},
		{"unknown root", "<foo/>", []string{"bad.xml", "<foo> (line 1)", "unknown root element"}},
		{"export-ma without ma-data", "<export-ma>\n<other/></export-ma>", []string{"<export-ma> (line 1)", "no <ma-data>"}},
		{"no name", "<ma-data><category>MSSQL</category></ma-data>", []string{"<ma-data> (line 1)", "no <name>"}},
		{"sql without configuration", "<ma-data><name>HR</name><category>MSSQL</category></ma-data>", []string{"<ma-data> (line 1)/<private-configuration>", "oledbma-configuration"}},
		{"sql without table", "<ma-data><name>HR</name><category>MSSQL</category><private-configuration><oledbma-configuration>\n<connection-info><server>s</server></connection-info></oledbma-configuration></private-configuration></ma-data>",
			[]string{"<connection-info> (line 2)", "no <server> or <tablename>"}},
		{"ad without forest", "<ma-data><name>AD</name><category>AD</category><private-configuration><adma-configuration/></private-configuration></ma-data>", []string{"<adma-configuration>", "forest"}},
		{"ecma without config", "<Configuration><Connectors><Connector/></Connectors></Configuration>", []string{"<Connector> (line 1)", "ConnectorConfig"}},
		{"deep", strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300), []string{"bad.xml", "too deeply nested"}},
		{"utf-16", "\xff\xfe<\x00", []string{"bad.xml", "UTF-16"}},
	} {
		_, err := Convert("dir/bad.xml", []byte(tc.data))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v, want *Error", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

func FuzzConvert(f *testing.F) {
	for _, name := range []string{"granfeldt-sqlma_sqlma_ma-exported.xml", "mimconfigdoc_MSSQL_HROrg_MA-{0C3357F1-FAD7-4E1E-88E2-A9CFCFE67491}.XML", "granfeldt-psma_PSMA7_ma-exported.xml"} {
		if data, err := os.ReadFile(filepath.Join(samplesDir, name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("<ma-data><name>x</name><category>AD</category><private-configuration><adma-configuration><forest-name>f</forest-name></adma-configuration></private-configuration></ma-data>"))
	f.Add([]byte("<Configuration><Connectors><Connector><ConnectorConfig/></Connector></Connectors></Configuration>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Convert("fuzz.xml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "fuzz.xml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range rs {
			_ = r.YAML()
			_ = r.Report()
		}
	})
}

// TestImportMIMGenericLDAP converts a Generic LDAP connector export (no
// public sample exists; this one follows the ECMA2 parameter layout).
func TestImportMIMGenericLDAP(t *testing.T) {
	ma := `<export-ma><ma-data><name>Corp LDAP</name><category>Extensible2</category><subtype>Generic LDAP (Microsoft)</subtype>
<attribute-inclusion><attribute>cn</attribute><attribute>mail</attribute></attribute-inclusion>
<private-configuration><MAConfig><parameter-values>
<parameter name="Host" type="string" use="connectivity">ldap.corp.example</parameter>
<parameter name="Port" type="string" use="connectivity">1636</parameter>
<parameter name="Binding" type="drop-down" use="connectivity">SSL</parameter>
<parameter name="User Name" type="string" use="connectivity">cn=sync,dc=corp</parameter>
<parameter name="Password" type="encrypted-string" use="connectivity" encrypted="1"/>
</parameter-values></MAConfig></private-configuration>
<ma-partition-data><partition><id>{P1}</id><name>dc=corp</name><selected>1</selected><filter><object-classes><object-class>inetOrgPerson</object-class></object-classes>
<containers><exclusions><exclusion>ou=old,dc=corp</exclusion></exclusions><inclusions><inclusion>dc=corp</inclusion></inclusions></containers></filter></partition></ma-partition-data>
<ma-run-data><run-configuration><name>Full</name><configuration><step><step-type type="full-import"><import-subtype>to-cs</import-subtype></step-type><partition>{P1}</partition></step></configuration></run-configuration></ma-run-data>
</ma-data></export-ma>`
	rs, err := Convert("corp.xml", []byte(ma))
	if err != nil {
		t.Fatal(err)
	}
	out := string(rs[0].YAML())
	for _, w := range []string{
		"type: ldap", "url: ldaps://ldap.corp.example:1636", "bindDN: cn=sync,dc=corp", "password: {env: IDSYNC_CORP_LDAP_PASSWORD}",
		"server: generic", "partition: dc=corp", "exclude: ['ou=old,dc=corp']", "objectTypes: [inetOrgPerson]",
		"attributes: [cn, mail]", "Full: [{type: full-import, partition: dc=corp}]",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
