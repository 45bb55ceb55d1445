package ldap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	uacAccountDisable = 0x2
	uacPasswdNotReqd  = 0x20
	uacNormalAccount  = 0x200
)

// controlPermissiveModify makes AD and OpenLDAP accept adding a value
// that exists and deleting one that does not.
const controlPermissiveModify = "1.2.840.113556.1.4.1413"

// OpenExport implements connector.Exporter.
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	if err := c.loadSchema(ctx); err != nil {
		return nil, err
	}
	return &exportSession{c: c}, nil
}

type exportSession struct{ c *conn }

// Close implements connector.ExportSession.
func (s *exportSession) Close(context.Context) error {
	if s.c.addConn != nil {
		s.c.addConn.Close()
		s.c.addConn = nil
	}
	return nil
}

// addWindow is how many adds may be in flight at once on the add
// connection.
const addWindow = 16

// inflight is an add sent and not yet answered.
type inflight struct {
	idx int
	dn  string
}

// ExportPage implements connector.ExportSession: each change is one or
// more LDAP operations, done in order. An object's failure is its
// result; a lost connection fails the page (KindTransient).
//
// Adds to a server with the post-read control are pipelined: up to
// addWindow are in flight at once, each answered with its anchor. An add
// waits for the adds in flight when its parent or a DN it references is
// among them, and every other operation waits for all of them, so the
// page's order holds wherever it matters.
func (s *exportSession) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	c := s.c
	out := make([]connector.ExportResult, len(changes))
	fly := map[int64]inflight{}
	flyDN := map[string]int{}
	drainOne := func() error {
		id, e, opErr, connErr := c.addConn.readAdd()
		if connErr != nil {
			c.addConn.Close()
			c.addConn = nil
			return c.classify("add", connErr)
		}
		f, ok := fly[id]
		if !ok {
			return fmt.Errorf("ldap: add response for unknown message %d", id)
		}
		delete(fly, id)
		n := fastNorm(f.dn)
		if flyDN[n]--; flyDN[n] <= 0 {
			delete(flyDN, n)
		}
		switch {
		case opErr != nil:
			out[f.idx] = c.result("add", f.dn, opErr)
		case e != nil:
			if a, err := c.anchorOf(e); err == nil {
				out[f.idx] = connector.ExportResult{Anchor: a, DN: e.DN}
				break
			}
			fallthrough
		default:
			out[f.idx] = c.addedResult(f.dn)
		}
		return nil
	}
	drainAll := func() error {
		for len(fly) > 0 {
			if err := drainOne(); err != nil {
				return err
			}
		}
		return nil
	}
	done := func(n int) ([]connector.ExportResult, error) {
		for i := range changes[:n] {
			out[i].ID = changes[i].ID
		}
		return out[:n], nil
	}
	pipeline := !c.cfg.isAD() && c.root.controls[controlPostRead]
	for i, ch := range changes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if pipeline && ch.Op == idsync.OpAdd {
			req, fail := c.buildAdd(ch)
			if fail != nil {
				out[i] = *fail
				continue
			}
			if dependsOnInflight(req, flyDN) {
				if err := drainAll(); err != nil {
					return nil, err
				}
			}
			if c.addConn == nil {
				rc, err := c.dialRaw(ctx)
				if err != nil {
					return nil, err
				}
				c.addConn = rc
			}
			id, err := c.addConn.sendAdd(req.DN, req.Attributes, []string{c.cfg.anchor()})
			if err != nil {
				c.addConn.Close()
				c.addConn = nil
				return nil, c.classify("add "+req.DN, err)
			}
			fly[id] = inflight{idx: i, dn: req.DN}
			flyDN[fastNorm(req.DN)]++
			if len(fly) >= addWindow {
				if err := drainOne(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := drainAll(); err != nil {
			return nil, err
		}
		r := c.export(ctx, ch)
		if r.Err != nil && idsync.KindOf(r.Err) == idsync.KindTransient {
			return nil, r.Err
		}
		out[i] = r
	}
	if err := drainAll(); err != nil {
		return nil, err
	}
	return done(len(changes))
}

// dependsOnInflight reports whether an add needs an add in flight done
// first: its parent, or an entry it references, is being added.
func dependsOnInflight(req *goldap.AddRequest, flyDN map[string]int) bool {
	if len(flyDN) == 0 {
		return false
	}
	if _, parent := splitDN(req.DN); flyDN[fastNorm(parent)] > 0 {
		return true
	}
	for _, a := range req.Attributes {
		for _, v := range a.Vals {
			if strings.Contains(v, "=") && flyDN[fastNorm(v)] > 0 {
				return true
			}
		}
	}
	return false
}

func (c *conn) export(ctx context.Context, ch idsync.Change) connector.ExportResult {
	switch ch.Op {
	case idsync.OpAdd:
		return c.exportAdd(ctx, ch)
	case idsync.OpUpdate:
		return c.exportUpdate(ctx, ch)
	case idsync.OpDelete:
		return c.exportDelete(ctx, ch)
	case idsync.OpReplace:
		if r := c.exportDelete(ctx, ch); r.Err != nil {
			return r
		}
		add := ch
		add.Op = idsync.OpAdd
		if add.NewDN != "" {
			add.DN = add.NewDN
		}
		return c.exportAdd(ctx, add)
	}
	return failed(fmt.Errorf("unknown operation %v", ch.Op), "connector-error")
}

func failed(err error, typ string) connector.ExportResult {
	return connector.ExportResult{Err: err, ErrorType: typ}
}

// result maps an LDAP error to an export result (or a transient error).
func (c *conn) result(op, dn string, err error) connector.ExportResult {
	cerr := c.classify(op+" "+dn, err)
	if idsync.KindOf(cerr) == idsync.KindTransient {
		return connector.ExportResult{Err: cerr}
	}
	return failed(cerr, errorType(err))
}

// errorType names an LDAP failure for the run history.
func errorType(err error) string {
	var le *goldap.Error
	if !errors.As(err, &le) {
		return "connector-error"
	}
	switch le.ResultCode {
	case goldap.LDAPResultEntryAlreadyExists:
		return "ObjectAlreadyExists"
	case goldap.LDAPResultNoSuchObject:
		return "NoSuchObject"
	case goldap.LDAPResultConstraintViolation:
		if strings.Contains(strings.ToLower(le.Error()), "unique") {
			return "AttributeValueMustBeUnique"
		}
		return "ConstraintViolation"
	case goldap.LDAPResultAttributeOrValueExists:
		return "AttributeValueMustBeUnique"
	case goldap.LDAPResultObjectClassViolation:
		return "ObjectClassViolation"
	case goldap.LDAPResultInvalidAttributeSyntax:
		return "InvalidAttributeSyntax"
	case goldap.LDAPResultUndefinedAttributeType:
		return "UndefinedAttributeType"
	case goldap.LDAPResultNoSuchAttribute:
		return "NoSuchAttribute"
	case goldap.LDAPResultInsufficientAccessRights:
		return "PermissionIssue"
	case goldap.LDAPResultUnwillingToPerform:
		return "UnwillingToPerform"
	case goldap.LDAPResultNotAllowedOnNonLeaf:
		return "NotAllowedOnNonLeaf"
	case goldap.LDAPResultNotAllowedOnRDN:
		return "NotAllowedOnRDN"
	case goldap.LDAPResultInvalidDNSyntax, goldap.LDAPResultNamingViolation:
		return "InvalidDN"
	}
	return "connector-error"
}

// encodeValues turns idsync values into LDAP value strings.
func (c *conn) encodeValues(name string, vs []idsync.Value) ([]string, error) {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		switch v.Type {
		case idsync.TypeBoolean:
			if v.Boolean() {
				out = append(out, "TRUE")
			} else {
				out = append(out, "FALSE")
			}
		case idsync.TypeDateTime:
			out = append(out, formatLDAPTime(v.Time()))
		case idsync.TypeBinary:
			out = append(out, string(v.Bin))
		case idsync.TypeInteger:
			out = append(out, strconv.FormatInt(v.Int, 10))
		case idsync.TypeString, idsync.TypeReference:
			if typ, _ := c.typeOf(name); typ == idsync.TypeBinary && c.cfg.isAD() && strings.EqualFold(name, "objectGUID") {
				return nil, errors.New("objectGUID is assigned by the directory")
			}
			out = append(out, v.Str)
		default:
			return nil, fmt.Errorf("attribute %s: a value of no type", name)
		}
	}
	return out, nil
}

// isPasswordAttr names the attributes that carry passwords.
func isPasswordAttr(name string) bool {
	return strings.EqualFold(name, "unicodePwd")
}

// encodeUnicodePwd encodes a password as AD wants it: the quoted text in
// UTF-16LE.
func encodeUnicodePwd(pw string) string {
	u := utf16.Encode([]rune("\"" + pw + "\""))
	b := make([]byte, 2*len(u))
	for i, x := range u {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return string(b)
}

func (c *conn) requireTLSForPassword() error {
	if c.tls {
		return nil
	}
	if c.cfg.isAD() || !c.cfg.AllowPasswordWithoutTLS {
		return &idsync.Error{Op: "ldap password", Kind: idsync.KindInvalid,
			Err: errors.New("passwords are sent only over LDAPS or StartTLS (use an ldaps:// url or startTLS: true)")}
	}
	return nil
}

// buildAdd builds the add request of a change for a server other than
// Active Directory, or the result of a change that cannot be sent.
func (c *conn) buildAdd(ch idsync.Change) (*goldap.AddRequest, *connector.ExportResult) {
	if ch.DN == "" {
		r := failed(errors.New("add without a DN"), "InvalidDN")
		return nil, &r
	}
	req := goldap.NewAddRequest(ch.DN, nil)
	hasOC := false
	for _, m := range ch.Mods {
		if len(m.Values) == 0 || m.Op == idsync.AttrDelete || m.Op == idsync.AttrClear {
			continue
		}
		if strings.EqualFold(m.Name, "objectClass") {
			hasOC = true
		}
		if strings.EqualFold(m.Name, c.cfg.anchor()) && strings.EqualFold(m.Name, "entryUUID") {
			continue // assigned by the server
		}
		if isPasswordAttr(m.Name) {
			if err := c.requireTLSForPassword(); err != nil {
				r := failed(err, "PasswordRequiresTLS")
				return nil, &r
			}
			req.Attribute("userPassword", []string{m.Values[0].String()})
			continue
		}
		vals, err := c.encodeValues(m.Name, m.Values)
		if err != nil {
			r := failed(err, "InvalidAttributeSyntax")
			return nil, &r
		}
		req.Attribute(m.Name, vals)
	}
	if !hasOC {
		oc := c.cfg.ObjectClasses[ch.ObjectType]
		if oc == "" {
			oc = ch.ObjectType
		}
		if oc == "" {
			r := failed(errors.New("add without objectClass or object type"), "ObjectClassViolation")
			return nil, &r
		}
		req.Attribute("objectClass", []string{oc})
	}
	if c.cfg.PlaceholderMember != "" {
		c.addPlaceholders(req)
	}
	return req, nil
}

func (c *conn) exportAdd(ctx context.Context, ch idsync.Change) connector.ExportResult {
	if ch.DN == "" {
		return failed(errors.New("add without a DN"), "InvalidDN")
	}
	req := goldap.NewAddRequest(ch.DN, nil)
	hasOC := false
	var uac []idsync.Value
	var pwd string
	for _, m := range ch.Mods {
		if len(m.Values) == 0 || m.Op == idsync.AttrDelete || m.Op == idsync.AttrClear {
			continue
		}
		if strings.EqualFold(m.Name, "objectClass") {
			hasOC = true
		}
		if c.cfg.isAD() && strings.EqualFold(m.Name, "userAccountControl") {
			uac = m.Values
			continue
		}
		if isPasswordAttr(m.Name) {
			if err := c.requireTLSForPassword(); err != nil {
				return failed(err, "PasswordRequiresTLS")
			}
			pwd = m.Values[0].String()
			continue
		}
		if strings.EqualFold(m.Name, c.cfg.anchor()) && (strings.EqualFold(m.Name, "objectGUID") || strings.EqualFold(m.Name, "entryUUID")) {
			continue // assigned by the server
		}
		vals, err := c.encodeValues(m.Name, m.Values)
		if err != nil {
			return failed(err, "InvalidAttributeSyntax")
		}
		req.Attribute(m.Name, vals)
	}
	if !hasOC {
		oc := c.cfg.ObjectClasses[ch.ObjectType]
		if oc == "" {
			oc = ch.ObjectType
		}
		if oc == "" {
			return failed(errors.New("add without objectClass or object type"), "ObjectClassViolation")
		}
		req.Attribute("objectClass", []string{oc})
	}
	if c.cfg.PlaceholderMember != "" {
		c.addPlaceholders(req)
	}
	if c.cfg.isAD() && pwd != "" {
		// AD takes a password in the add itself, so the account can be
		// created enabled.
		req.Attribute("unicodePwd", []string{encodeUnicodePwd(pwd)})
	}
	if c.cfg.isAD() && len(uac) > 0 {
		// Created with the flags, but disabled when no password comes with
		// it: AD refuses an enabled account without a password; the flags
		// are set whole right after.
		v, err := uac[0].Convert(idsync.TypeInteger)
		if err != nil {
			return failed(fmt.Errorf("userAccountControl: %w", err), "InvalidAttributeSyntax")
		}
		first := v.Int
		if pwd == "" {
			first |= uacAccountDisable
		}
		req.Attribute("userAccountControl", []string{strconv.FormatInt(first, 10)})
		if err := c.l.Add(req); err != nil {
			return c.result("add", ch.DN, err)
		}
		r := c.addedResult(ch.DN)
		if first != v.Int {
			mr := goldap.NewModifyRequest(ch.DN, nil)
			mr.Replace("userAccountControl", []string{strconv.FormatInt(v.Int, 10)})
			if err := c.l.Modify(mr); err != nil {
				x := c.result("set userAccountControl of", ch.DN, err)
				r.Err, r.ErrorType = x.Err, x.ErrorType
			}
		}
		return r
	}
	if !c.cfg.isAD() {
		r, fail := c.buildAdd(ch)
		if fail != nil {
			return *fail
		}
		req = r
	}
	if err := c.l.Add(req); err != nil {
		return c.result("add", ch.DN, err)
	}
	return c.addedResult(ch.DN)
}

// addedResult reads the anchor of an object just added.
func (c *conn) addedResult(dn string) connector.ExportResult {
	res, err := c.l.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{c.cfg.anchor()}, nil))
	if err != nil {
		return c.result("read anchor of", dn, err)
	}
	if len(res.Entries) == 0 {
		return failed(fmt.Errorf("added %s but cannot read it back", dn), "connector-error")
	}
	a, err := c.anchorOf(res.Entries[0])
	if err != nil {
		return failed(fmt.Errorf("added %s: %w", dn, err), "connector-error")
	}
	return connector.ExportResult{Anchor: a, DN: res.Entries[0].DN}
}

// currentDN finds the DN of the object with the change's anchor when the
// change has no DN.
func (c *conn) currentDN(ch idsync.Change) (string, error) {
	if ch.DN != "" {
		return ch.DN, nil
	}
	if ch.Anchor == "" {
		return "", errors.New("change has neither DN nor anchor")
	}
	f, err := c.anchorFilter(ch.Anchor)
	if err != nil {
		return "", err
	}
	for _, p := range c.partitionDNs() {
		res, err := c.l.Search(goldap.NewSearchRequest(p, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 0, false, f, []string{"1.1"}, nil))
		if err != nil {
			return "", c.classify("find "+string(ch.Anchor), err)
		}
		if len(res.Entries) == 1 {
			return res.Entries[0].DN, nil
		}
	}
	return "", fmt.Errorf("no object has anchor %q", ch.Anchor)
}

func (c *conn) exportUpdate(_ context.Context, ch idsync.Change) connector.ExportResult {
	dn, err := c.currentDN(ch)
	if err != nil {
		if idsync.KindOf(err) == idsync.KindTransient {
			return connector.ExportResult{Err: err}
		}
		return failed(err, "NoSuchObject")
	}
	var r connector.ExportResult
	if ch.NewDN != "" && fastNorm(ch.NewDN) != fastNorm(dn) {
		rdn, parent := splitDN(ch.NewDN)
		_, oldParent := splitDN(dn)
		req := goldap.NewModifyDNRequest(dn, rdn, true, "")
		if fastNorm(parent) != fastNorm(oldParent) {
			req.NewSuperior = parent
		}
		if err := c.l.ModifyDN(req); err != nil {
			return c.result("rename", dn, err)
		}
		dn = ch.NewDN
		r.DN = dn
	}
	if len(ch.Mods) == 0 {
		if r.DN == "" {
			// nothing to do, but the object must exist
			if _, err := c.l.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil)); err != nil {
				return c.result("read", dn, err)
			}
		}
		return r
	}
	var ctrls []goldap.Control
	if c.root.controls[controlPermissiveModify] {
		ctrls = append(ctrls, goldap.NewControlString(controlPermissiveModify, false, ""))
	}
	req := goldap.NewModifyRequest(dn, ctrls)
	for _, m := range ch.Mods {
		if strings.EqualFold(m.Name, c.cfg.anchor()) && (strings.EqualFold(m.Name, "objectGUID") || strings.EqualFold(m.Name, "entryUUID")) {
			continue
		}
		if isPasswordAttr(m.Name) {
			if err := c.requireTLSForPassword(); err != nil {
				return failed(err, "PasswordRequiresTLS")
			}
			if len(m.Values) > 0 {
				req.Replace("unicodePwd", []string{encodeUnicodePwd(m.Values[0].String())})
			}
			continue
		}
		vals, err := c.encodeValues(m.Name, m.Values)
		if err != nil {
			return failed(err, "InvalidAttributeSyntax")
		}
		switch m.Op {
		case idsync.AttrReplace:
			req.Replace(m.Name, vals)
		case idsync.AttrClear:
			req.Replace(m.Name, nil)
		case idsync.AttrAdd:
			if len(vals) > 0 {
				req.Add(m.Name, vals)
				c.dropPlaceholder(req, m)
			}
		case idsync.AttrDelete:
			if len(vals) > 0 {
				req.Delete(m.Name, vals)
			}
		}
	}
	if len(req.Changes) == 0 {
		return r
	}
	if err := c.l.Modify(req); err != nil {
		x := c.result("modify", dn, err)
		x.DN = r.DN
		return x
	}
	return r
}

func (c *conn) exportDelete(_ context.Context, ch idsync.Change) connector.ExportResult {
	dn, err := c.currentDN(ch)
	if err != nil {
		if idsync.KindOf(err) == idsync.KindTransient {
			return connector.ExportResult{Err: err}
		}
		// already gone: the delete is done
		return connector.ExportResult{}
	}
	if err := c.l.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return connector.ExportResult{}
		}
		return c.result("delete", dn, err)
	}
	return connector.ExportResult{}
}

// addPlaceholders fills the mandatory reference attributes an add lacks
// (a group's member in the first export pass) with the placeholder DN.
func (c *conn) addPlaceholders(req *goldap.AddRequest) {
	have := map[string]bool{}
	var classes []string
	for _, a := range req.Attributes {
		have[strings.ToLower(a.Type)] = true
		if strings.EqualFold(a.Type, "objectClass") {
			classes = a.Vals
		}
	}
	for _, oc := range classes {
		for _, name := range c.schema.mustAttrs(oc) {
			if have[strings.ToLower(name)] {
				continue
			}
			if typ, _ := c.typeOf(name); typ == idsync.TypeReference {
				req.Attribute(name, []string{c.cfg.PlaceholderMember})
				have[strings.ToLower(name)] = true
			}
		}
	}
}

// dropPlaceholder removes the placeholder from a reference attribute that
// gets real values.
func (c *conn) dropPlaceholder(req *goldap.ModifyRequest, m idsync.AttrMod) {
	if c.cfg.PlaceholderMember == "" || m.Op != idsync.AttrAdd || len(m.Values) == 0 || m.Values[0].Type != idsync.TypeReference {
		return
	}
	ph := fastNorm(c.cfg.PlaceholderMember)
	for _, v := range m.Values {
		if fastNorm(v.Str) == ph {
			return
		}
	}
	req.Delete(m.Name, []string{c.cfg.PlaceholderMember})
}
