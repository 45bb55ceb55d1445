package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	ldapconn "github.com/idsync/idsync/connector/ldap"
)

// TestSettingsContract loads the settings the MIM importer writes
// (settings-contract.md) through the real configuration loader.
func TestSettingsContract(t *testing.T) {
	dir := t.TempDir()
	yaml := `metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: mail, type: string}
connectors:
  - name: ad
    type: ldap
    settings:
      url: ldaps://dc1.contoso.com:636
      startTLS: false
      caFile: /etc/idsync/ca.pem
      insecureSkipVerify: false
      bindDN: "CN=svc-idsync,OU=Service,DC=contoso,DC=com"
      password: {env: IDSYNC_CONTOSO_AD_PASSWORD}
      saslExternal: false
      server: ad
      delta: dirsync
      anchor: objectGUID
      containers:
        - partition: "DC=contoso,DC=com"
          include: ["OU=Users,DC=contoso,DC=com"]
          exclude: ["OU=Disabled,OU=Users,DC=contoso,DC=com"]
      objectClasses: {user: user, group: group}
      pageSize: 1000
      timeout: 2m
`
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir, connector.NewRegistry(ldapconn.Type))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c := cfg.Connector("ad").Settings.(*ldapconn.Config)
	if c.Timeout != 2*time.Minute || c.PageSize != 1000 || c.Password.Env != "IDSYNC_CONTOSO_AD_PASSWORD" ||
		len(c.Containers) != 1 || c.Containers[0].Exclude[0] != "OU=Disabled,OU=Users,DC=contoso,DC=com" || c.ObjectClasses["group"] != "group" {
		t.Errorf("decoded settings: %+v", c)
	}
	caps := cfg.Connector("ad").Capabilities
	if caps.DNStyle != connector.DNLDAP || !caps.DeltaImport || !caps.ObjectRename || !caps.Password || !caps.NoReferencesInFirstPass {
		t.Errorf("capabilities: %+v", caps)
	}
	// A password in clear and a bad delta are refused when the file loads.
	for _, bad := range []string{
		strings.Replace(yaml, "password: {env: IDSYNC_CONTOSO_AD_PASSWORD}", "password: hunter2", 1),
		strings.Replace(yaml, "delta: dirsync", "delta: syncrepl", 1),
		strings.Replace(yaml, "timeout: 2m", "timeout: soon", 1),
	} {
		if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(dir, connector.NewRegistry(ldapconn.Type)); err == nil {
			t.Errorf("load accepted a bad configuration:\n%s", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
