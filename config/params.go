package config

import (
	"strings"
)

// RuleParams returns the values of the rule parameters (%Name%) of
// connector c: its own params, completed with the standard ones idsync can
// derive from the connector's configuration (the names Entra Connect gives
// an Active Directory connector's rules):
//
//   - Connector.ID: the connector's name.
//   - Domain.LDAP: the domain's DN. Given, else built from Domain.FQDN
//     (contoso.com: DC=contoso,DC=com), else the first partition that is a
//     domain naming context (only DC= components).
//   - Domain.FQDN: given, else the DC= components of Domain.LDAP joined by dots.
//   - Domain.Netbios: given, else the first label of Domain.FQDN in upper
//     case, cut to 15 characters (the default NetBIOS name AD proposes;
//     give it explicitly when the domain's differs).
//   - Forest.LDAP, Forest.FQDN, Forest.Netbios: derived from one another in
//     the same way, and from the Domain.* values when none is given (a
//     single-domain forest).
//
// A parameter that cannot be derived is absent.
func (c *Connector) RuleParams() map[string]string {
	p := map[string]string{"Connector.ID": c.Name}
	for k, v := range c.Params {
		p[k] = v
	}
	if p["Domain.LDAP"] == "" && p["Domain.FQDN"] == "" {
		for _, part := range c.Partitions {
			if fqdn := fqdnFromDN(part); fqdn != "" {
				p["Domain.LDAP"] = part
				break
			}
		}
	}
	completeNames(p, "Domain.")
	if p["Forest.LDAP"] == "" && p["Forest.FQDN"] == "" && p["Forest.Netbios"] == "" {
		for _, k := range []string{"LDAP", "FQDN", "Netbios"} {
			if v := p["Domain."+k]; v != "" {
				p["Forest."+k] = v
			}
		}
	}
	completeNames(p, "Forest.")
	return p
}

// completeNames fills prefix+LDAP, prefix+FQDN and prefix+Netbios from
// whichever of them is known.
func completeNames(p map[string]string, prefix string) {
	ldap, fqdn := p[prefix+"LDAP"], p[prefix+"FQDN"]
	if fqdn == "" && ldap != "" {
		fqdn = fqdnFromDN(ldap)
	}
	if ldap == "" && fqdn != "" {
		ldap = dnFromFQDN(fqdn)
	}
	if fqdn != "" {
		p[prefix+"FQDN"] = fqdn
	}
	if ldap != "" {
		p[prefix+"LDAP"] = ldap
	}
	if p[prefix+"Netbios"] == "" && fqdn != "" {
		label, _, _ := strings.Cut(fqdn, ".")
		label = strings.ToUpper(label)
		if len(label) > 15 {
			label = label[:15]
		}
		p[prefix+"Netbios"] = label
	}
}

// fqdnFromDN turns DC=contoso,DC=com into contoso.com; "" when dn has a
// component other than DC=.
func fqdnFromDN(dn string) string {
	var labels []string
	for _, rdn := range strings.Split(dn, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "DC") || strings.TrimSpace(v) == "" {
			return ""
		}
		labels = append(labels, strings.TrimSpace(v))
	}
	return strings.Join(labels, ".")
}

// dnFromFQDN turns contoso.com into DC=contoso,DC=com.
func dnFromFQDN(fqdn string) string {
	var rdns []string
	for _, l := range strings.Split(strings.Trim(fqdn, "."), ".") {
		if l != "" {
			rdns = append(rdns, "DC="+l)
		}
	}
	return strings.Join(rdns, ",")
}
