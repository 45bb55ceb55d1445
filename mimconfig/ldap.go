package mimconfig

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// convertADMA converts the Active Directory (AD) and AD LDS (ADAM)
// management agents (<adma-configuration>) to the ldap connector.
func convertADMA(r *Result, ma *node) error {
	cfg := ma.at("private-configuration/adma-configuration")
	if cfg == nil {
		return &Error{File: r.File, Element: elemOf(ma, "private-configuration"), Msg: "no <adma-configuration>: not an Active Directory management agent export"}
	}
	host := cfg.str("forest-name")
	if host == "" {
		return &Error{File: r.File, Element: elemOf(cfg, "forest-name"), Msg: "no forest or server name"}
	}
	adlds := ma.str("category") == "ADAM"
	ssl := cfg.str("ssl-bind") == "1"
	port, _ := strconv.Atoi(cfg.str("forest-port"))
	scheme := "ldap"
	if ssl {
		scheme = "ldaps"
	}
	if port == 0 {
		port = 389
		if ssl {
			port = 636
		}
	}
	c := r.newConnector("ldap")
	s := mapping()
	add(s, "url", str(fmt.Sprintf("%s://%s:%d", scheme, host, port)))
	if !ssl && cfg.str("sign-and-seal") == "1" {
		add(s, "startTLS", boolean(true))
		r.carried("sign and seal (Kerberos signing and sealing) → startTLS: true (the server needs a certificate; set caFile if it is not publicly trusted)")
	}
	if cfg.at("ssl-bind") != nil && cfg.at("ssl-bind").attrs["crl-check"] == "1" {
		r.notCarried("CRL checking of the server certificate")
	}
	user := cfg.str("forest-login-user")
	if d := cfg.str("forest-login-domain"); d != "" && user != "" {
		user = d + `\` + user
	}
	if user != "" {
		add(s, "bindDN", str(user))
		add(s, "password", r.secret("password", "the password of "+user))
		r.carried("bind account %s (down-level logon name; Active Directory accepts it in a simple bind)", user)
	}
	server := "ad"
	if adlds {
		server = "adlds"
	}
	add(s, "server", str(server))
	add(s, "delta", str("dirsync"))
	add(s, "anchor", str("objectGUID"))
	r.carried("connectivity: %s://%s:%d (%s); delta import by DirSync; anchor objectGUID", scheme, host, port, map[bool]string{true: "AD LDS", false: "Active Directory"}[adlds])

	parts := partitions(ma)
	names := map[string]string{}
	var dns []string
	containers := seq(false)
	for _, p := range parts {
		names[p.id] = p.name
		dns = append(dns, p.name)
		if len(p.include) == 0 && len(p.exclude) == 0 {
			continue
		}
		m := mapping()
		add(m, "partition", str(p.name))
		if len(p.include) > 0 {
			add(m, "include", strs(true, p.include...))
		}
		if len(p.exclude) > 0 {
			add(m, "exclude", strs(true, p.exclude...))
		}
		containers.Content = append(containers.Content, m)
	}
	if len(containers.Content) > 0 {
		add(s, "containers", containers)
		r.carried("containers in scope of %d partition(s)", len(containers.Content))
	}
	if ext := cfg.child("cd-extension"); !ext.empty() {
		r.notCarried("connected-data extension %s (%s, %s): no equivalent", ext.str("assembly-name"), ext.str("exchange-version"), ext.str("server-name"))
	}
	if ph := cfg.child("password-hash-sync-config"); ph.str("enabled") == "1" {
		r.notCarried("password hash synchronization")
	}
	for _, p := range ma.find("cookie") {
		if strings.TrimSpace(p.text) != "" {
			r.notCarried("DirSync cookies: the first idsync import is a full import")
			break
		}
	}
	add(c, "settings", s)
	ldapCommon(r, c, ma, dns, names)
	return nil
}

// ldapCommon writes object types, attributes, partitions and profiles.
func ldapCommon(r *Result, c *yaml.Node, ma *node, dns []string, names map[string]string) {
	if ocs := selectedObjectClasses(ma); len(ocs) > 0 {
		add(c, "objectTypes", strs(true, ocs...))
		r.carried("object types: %s", strings.Join(ocs, ", "))
	}
	addInclusion(r, c, ma)
	if len(dns) > 0 {
		add(c, "partitions", strs(false, dns...))
		r.carried("partitions: %s", strings.Join(dns, "; "))
	}
	var skipped []string
	pd := ma.child("ma-partition-data")
	for _, p := range pd.children("partition") {
		if p.str("selected") == "0" {
			skipped = append(skipped, p.str("name"))
		}
	}
	if len(skipped) > 0 {
		r.notCarried("partitions not selected in the MA (left out): %s", strings.Join(skipped, "; "))
	}
	if p := runProfiles(r, ma, func(id string) string { return names[id] }); p != nil {
		add(c, "profiles", p)
	}
}

// convertGenericLDAP converts Microsoft's Generic LDAP connector
// (ECMA2) from its connectivity parameters.
func convertGenericLDAP(r *Result, ma *node) error {
	ps := maParams(ma)
	host := paramValue(ps, "Host")
	if host == "" {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: `no "Host" parameter: not a Generic LDAP connector export`}
	}
	port, _ := strconv.Atoi(paramValue(ps, "Port"))
	binding := strings.ToLower(paramValue(ps, "Binding"))
	scheme := "ldap"
	if strings.Contains(binding, "ssl") {
		scheme = "ldaps"
	}
	if port == 0 {
		port = map[string]int{"ldap": 389, "ldaps": 636}[scheme]
	}
	c := r.newConnector("ldap")
	s := mapping()
	add(s, "url", str(fmt.Sprintf("%s://%s:%d", scheme, host, port)))
	if strings.Contains(binding, "tls") {
		add(s, "startTLS", boolean(true))
	}
	if u := paramValue(ps, "User Name"); u != "" || paramValue(ps, "Username") != "" {
		if u == "" {
			u = paramValue(ps, "Username")
		}
		add(s, "bindDN", str(u))
		add(s, "password", r.secret("password", "the password of "+u))
	}
	if strings.Contains(binding, "sasl") || strings.Contains(binding, "kerberos") {
		r.notCarried("binding %q: idsync binds with simple bind (or SASL EXTERNAL)", paramValue(ps, "Binding"))
	}
	add(s, "server", str("generic"))
	r.carried("connectivity: %s://%s:%d", scheme, host, port)
	parts := partitions(ma)
	names := map[string]string{}
	var dns []string
	containers := seq(false)
	for _, p := range parts {
		names[p.id] = p.name
		dns = append(dns, p.name)
		if len(p.include)+len(p.exclude) > 0 {
			m := mapping()
			add(m, "partition", str(p.name))
			if len(p.include) > 0 {
				add(m, "include", strs(true, p.include...))
			}
			if len(p.exclude) > 0 {
				add(m, "exclude", strs(true, p.exclude...))
			}
			containers.Content = append(containers.Content, m)
		}
	}
	if len(containers.Content) > 0 {
		add(s, "containers", containers)
	}
	r.notCarried("delta strategy of the Generic LDAP connector: set delta: (syncrepl, accesslog, usnchanged or none) for the server")
	add(c, "settings", s)
	ldapCommon(r, c, ma, dns, names)
	return nil
}
