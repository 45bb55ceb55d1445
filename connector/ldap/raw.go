package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// rawConn is a second connection used only for full-import searches. It
// decodes search results with a small zero-copy BER reader instead of
// go-ldap's general packet tree, which allocates several objects per BER
// element and made decoding most of a full import's cost. It speaks only
// what a paged search needs: StartTLS, simple or SASL EXTERNAL bind,
// search with controls.
type rawConn struct {
	nc   net.Conn
	r    *bufio.Reader
	buf  []byte
	id   int64
	tout time.Duration
}

func (c *conn) dialRaw(ctx context.Context) (*rawConn, error) {
	p, err := parseURL(c.url)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: c.cfg.timeout()}
	var nc net.Conn
	switch p.Scheme {
	case "ldapi":
		nc, err = d.DialContext(ctx, "unix", p.Host)
	case "ldaps":
		host := p.Host
		if p.Port() == "" {
			host = net.JoinHostPort(p.Hostname(), "636")
		}
		tc, terr := c.tlsConfig(p.Hostname())
		if terr != nil {
			return nil, terr
		}
		td := &tls.Dialer{NetDialer: d, Config: tc}
		nc, err = td.DialContext(ctx, "tcp", host)
	default:
		host := p.Host
		if p.Port() == "" {
			host = net.JoinHostPort(p.Hostname(), "389")
		}
		nc, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, c.classify("connect "+c.url, err)
	}
	rc := &rawConn{nc: nc, r: bufio.NewReaderSize(nc, 256<<10), tout: c.cfg.timeout()}
	fail := func(op string, err error) (*rawConn, error) {
		nc.Close()
		return nil, c.classify(op+" "+c.url, err)
	}
	if c.cfg.StartTLS {
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "Extended Request")
		op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "StartTLS"))
		if err := rc.roundTrip(op, 24); err != nil {
			return fail("starttls", err)
		}
		tc, err := c.tlsConfig(p.Hostname())
		if err != nil {
			nc.Close()
			return nil, err
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return fail("starttls", err)
		}
		rc.nc = tlsConn
		rc.r = bufio.NewReaderSize(tlsConn, 256<<10)
	}
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "Bind Request")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	switch {
	case c.cfg.SASLExternal:
		bind.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "User Name"))
		sasl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "SASL")
		sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "EXTERNAL", "Mechanism"))
		// an empty authorization identity: act as the authenticated identity
		sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "Credentials"))
		bind.AppendChild(sasl)
	default:
		pw := ""
		if c.cfg.BindDN != "" {
			s, err := c.cfg.Password.Resolve(c.env)
			if err != nil {
				nc.Close()
				return nil, fmt.Errorf("ldap: bind password: %w", err)
			}
			pw = s.Reveal()
		}
		bind.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.cfg.BindDN, "User Name"))
		bind.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, "Password"))
	}
	if err := rc.roundTrip(bind, 1); err != nil {
		return fail("bind as "+c.cfg.BindDN, err)
	}
	return rc, nil
}

func (rc *rawConn) Close() error { return rc.nc.Close() }

// send writes one LDAP message holding op and controls.
func (rc *rawConn) send(op *ber.Packet, controls []goldap.Control) error {
	rc.id++
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, rc.id, "MessageID"))
	msg.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, ct := range controls {
			cs.AppendChild(ct.Encode())
		}
		msg.AppendChild(cs)
	}
	rc.nc.SetWriteDeadline(time.Now().Add(rc.tout))
	_, err := rc.nc.Write(msg.Bytes())
	return err
}

// readMessage reads one LDAP message and returns its protocol op tag,
// the op's content and the message's controls element (nil when none).
// The slices point into a buffer the next call reuses.
func (rc *rawConn) readMessage() (opTag byte, op, controls []byte, err error) {
	_, opTag, op, controls, err = rc.readMessageID()
	return opTag, op, controls, err
}

// readMessageID is readMessage that also returns the message ID.
func (rc *rawConn) readMessageID() (id int64, opTag byte, op, controls []byte, err error) {
	rc.nc.SetReadDeadline(time.Now().Add(rc.tout))
	tag, err := rc.r.ReadByte()
	if err != nil {
		return 0, 0, nil, nil, err
	}
	if tag != 0x30 {
		return 0, 0, nil, nil, fmt.Errorf("ldap: malformed message: tag %#x", tag)
	}
	n, err := readLength(rc.r)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	if n > 256<<20 {
		return 0, 0, nil, nil, fmt.Errorf("ldap: message of %d bytes is too large", n)
	}
	if cap(rc.buf) < n {
		rc.buf = make([]byte, n, n+n/4)
	}
	b := rc.buf[:n]
	if _, err := io.ReadFull(rc.r, b); err != nil {
		return 0, 0, nil, nil, err
	}
	t, idb, rest, err := tlv(b) // messageID
	if err != nil || t != 0x02 || len(idb) == 0 || len(idb) > 8 {
		return 0, 0, nil, nil, fmt.Errorf("ldap: malformed message ID")
	}
	for _, x := range idb {
		id = id<<8 | int64(x)
	}
	opTag, op, rest, err = tlv(rest)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	if len(rest) > 0 {
		t, c, _, err := tlv(rest)
		if err == nil && t == 0xa0 {
			controls = c
		}
	}
	return id, opTag, op, controls, nil
}

func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, fmt.Errorf("ldap: unsupported BER length form %#x", b)
	}
	n := 0
	for i := 0; i < k; i++ {
		x, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | int(x)
	}
	return n, nil
}

// tlv splits the first BER element of b (single-byte tags, definite
// lengths, as LDAP uses).
func tlv(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errors.New("ldap: truncated BER element")
	}
	tag = b[0]
	n := int(b[1])
	i := 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errors.New("ldap: bad BER length")
		}
		n = 0
		for j := 0; j < k; j++ {
			n = n<<8 | int(b[2+j])
		}
		i += k
	}
	if n < 0 || len(b)-i < n {
		return 0, nil, nil, errors.New("ldap: truncated BER element")
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// parseResult reads an LDAPResult; a non-zero code is a *goldap.Error.
func parseResult(op []byte) error {
	t, code, rest, err := tlv(op)
	if err != nil || t != 0x0a {
		return errors.New("ldap: malformed result")
	}
	rc := 0
	for _, x := range code {
		rc = rc<<8 | int(x)
	}
	if rc == 0 {
		return nil
	}
	diag := ""
	if _, _, rest2, err := tlv(rest); err == nil { // matchedDN
		if _, d, _, err := tlv(rest2); err == nil {
			diag = string(d)
		}
	}
	return goldap.NewError(uint16(rc), errors.New(diag))
}

// roundTrip sends op and reads its one response of application tag want.
func (rc *rawConn) roundTrip(op *ber.Packet, want byte) error {
	if err := rc.send(op, nil); err != nil {
		return err
	}
	tag, body, _, err := rc.readMessage()
	if err != nil {
		return err
	}
	if tag != 0x60|want {
		return fmt.Errorf("ldap: unexpected response tag %#x", tag)
	}
	return parseResult(body)
}

// parseEntry decodes a SearchResultEntry into a go-ldap Entry. It makes a
// handful of allocations per entry, whatever its size: one copy of the
// message as bytes and one as a string, which the values' ByteValues and
// Values slice, and exactly sized slices counted in a first pass.
func parseEntry(op []byte) (*goldap.Entry, error) {
	t, dn, rest, err := tlv(op)
	if err != nil || t != 0x04 {
		return nil, errors.New("ldap: malformed entry name")
	}
	t, attrs, _, err := tlv(rest)
	if err != nil || t != 0x30 {
		return nil, errors.New("ldap: malformed entry attributes")
	}
	// First pass: validate and count.
	nAttrs, nVals := 0, 0
	for p := attrs; len(p) > 0; {
		var one []byte
		t, one, p, err = tlv(p)
		if err != nil || t != 0x30 {
			return nil, errors.New("ldap: malformed attribute")
		}
		t, _, vals, err := tlv(one)
		if err != nil || t != 0x04 {
			return nil, errors.New("ldap: malformed attribute type")
		}
		t, set, _, err := tlv(vals)
		if err != nil || t != 0x31 {
			return nil, errors.New("ldap: malformed attribute values")
		}
		for len(set) > 0 {
			t, _, set, err = tlv(set)
			if err != nil || t != 0x04 {
				return nil, errors.New("ldap: malformed attribute value")
			}
			nVals++
		}
		nAttrs++
	}
	// Second pass: build, slicing one copy of the message. A content
	// slice returned by tlv shares own's array, so its offset in own is
	// cap(own) - cap(slice).
	own := make([]byte, len(op))
	copy(own, op)
	str := string(own)
	at := func(b []byte) int { return cap(own) - cap(b) }
	e := &goldap.Entry{DN: string(dn), Attributes: make([]*goldap.EntryAttribute, nAttrs)}
	store := make([]goldap.EntryAttribute, nAttrs)
	byteVals := make([][]byte, nVals)
	strVals := make([]string, nVals)
	_, _, rest2, _ := tlv(own)
	_, p, _, _ := tlv(rest2)
	i, v := 0, 0
	for ; len(p) > 0 && i < nAttrs; i++ {
		var one []byte
		_, one, p, _ = tlv(p)
		_, name, vals, _ := tlv(one)
		_, set, _, _ := tlv(vals)
		a := &store[i]
		a.Name = str[at(name) : at(name)+len(name)]
		first := v
		for len(set) > 0 && v < nVals {
			var val []byte
			_, val, set, _ = tlv(set)
			o := at(val)
			byteVals[v] = own[o : o+len(val) : o+len(val)]
			strVals[v] = str[o : o+len(val)]
			v++
		}
		a.ByteValues = byteVals[first:v:v]
		a.Values = strVals[first:v:v]
		e.Attributes[i] = a
	}
	return e, nil
}

// search runs a paged subtree search on the raw connection and calls fn
// for each entry.
func (c *conn) rawPaged(ctx context.Context, rc *rawConn, req *goldap.SearchRequest, size int, fn func(*goldap.Entry) error, endPage func() error) error {
	filter, err := goldap.CompileFilter(req.Filter)
	if err != nil {
		return fmt.Errorf("ldap: filter %s: %w", req.Filter, err)
	}
	pc := goldap.NewControlPaging(uint32(size))
	sendReq := func() error {
		op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "Search Request")
		op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, req.BaseDN, "Base DN"))
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.Scope), "Scope"))
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(req.DerefAliases), "Deref Aliases"))
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Size Limit"))
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Time Limit"))
		op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "Types Only"))
		op.AppendChild(filter)
		attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
		for _, a := range req.Attributes {
			attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
		}
		op.AppendChild(attrs)
		if err := rc.send(op, append([]goldap.Control{pc}, req.Controls...)); err != nil {
			return c.classify("search "+req.BaseDN, err)
		}
		return nil
	}
	if err := sendReq(); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		tag, body, ctrls, err := rc.readMessage()
		if err != nil {
			return c.classify("search "+req.BaseDN, err)
		}
		switch tag {
		case 0x64: // SearchResultEntry
			e, err := parseEntry(body)
			if err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		case 0x65: // SearchResultDone
			if err := parseResult(body); err != nil {
				return c.classify("search "+req.BaseDN, err)
			}
			cookie := pagingCookie(ctrls)
			if len(cookie) > 0 {
				// Ask for the next page before handing this one over, so
				// that the server works while the caller stores.
				pc.SetCookie(cookie)
				if err := sendReq(); err != nil {
					return err
				}
			}
			if endPage != nil {
				if err := endPage(); err != nil {
					return err
				}
			}
			if len(cookie) == 0 {
				return nil
			}
		case 0x73, 0x79: // references, intermediate responses
		default:
			return fmt.Errorf("ldap: search %s: unexpected response tag %#x", req.BaseDN, tag)
		}
	}
}

// pagingCookie finds the paged-results cookie in a controls element.
func pagingCookie(ctrls []byte) []byte {
	for len(ctrls) > 0 {
		t, one, rest, err := tlv(ctrls)
		if err != nil || t != 0x30 {
			return nil
		}
		ctrls = rest
		t, oid, rest2, err := tlv(one)
		if err != nil || t != 0x04 || string(oid) != goldap.ControlTypePaging {
			continue
		}
		// optional criticality, then the value
		t, v, rest3, err := tlv(rest2)
		if err == nil && t == 0x01 {
			t, v, _, err = tlv(rest3)
		}
		if err != nil || t != 0x04 {
			return nil
		}
		// realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }
		t, seq, _, err := tlv(v)
		if err != nil || t != 0x30 {
			return nil
		}
		_, _, rest4, err := tlv(seq)
		if err != nil {
			return nil
		}
		t, ck, _, err := tlv(rest4)
		if err != nil || t != 0x04 {
			return nil
		}
		return append([]byte(nil), ck...)
	}
	return nil
}

// controlPostRead is the post-read control (RFC 4527): the server returns
// the entry as it is after the operation, so an add learns its anchor
// without a second request.
const controlPostRead = "1.3.6.1.1.13.2"

type postReadControl struct{ attrs []string }

func (p postReadControl) GetControlType() string { return controlPostRead }
func (p postReadControl) String() string         { return "post-read " + fmt.Sprint(p.attrs) }
func (p postReadControl) Encode() *ber.Packet {
	pkt := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	pkt.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, controlPostRead, "Control Type"))
	sel := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute Selection")
	for _, a := range p.attrs {
		sel.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	val := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	val.AppendChild(sel)
	pkt.AppendChild(val)
	return pkt
}

// sendAdd sends an add with the post-read control and returns its
// message ID; readAdd reads a response. Several adds may be in flight.
func (rc *rawConn) sendAdd(dn string, attrs []goldap.Attribute, read []string) (int64, error) {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 8, nil, "Add Request")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "DN"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range attrs {
		one := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
		one.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.Type, "Type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "Values")
		for _, v := range a.Vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Value"))
		}
		one.AppendChild(set)
		list.AppendChild(one)
	}
	op.AppendChild(list)
	if err := rc.send(op, []goldap.Control{postReadControl{attrs: read}}); err != nil {
		return 0, err
	}
	return rc.id, nil
}

// readAdd reads one add response: its message ID, the entry of the
// post-read control (nil when none), the operation's own failure (a
// *goldap.Error), or a broken connection (connErr).
func (rc *rawConn) readAdd() (id int64, e *goldap.Entry, opErr, connErr error) {
	id, tag, body, ctrls, err := rc.readMessageID()
	if err != nil {
		return 0, nil, nil, err
	}
	if tag != 0x69 {
		return id, nil, nil, fmt.Errorf("ldap: add: unexpected response tag %#x", tag)
	}
	if err := parseResult(body); err != nil {
		return id, nil, err, nil
	}
	for len(ctrls) > 0 {
		t, one, rest, err := tlv(ctrls)
		if err != nil || t != 0x30 {
			return id, nil, nil, nil
		}
		ctrls = rest
		t, oid, rest2, err := tlv(one)
		if err != nil || t != 0x04 || string(oid) != controlPostRead {
			continue
		}
		t, v, rest3, err := tlv(rest2)
		if err == nil && t == 0x01 {
			t, v, _, err = tlv(rest3)
		}
		if err != nil || t != 0x04 {
			return id, nil, nil, nil
		}
		t, ent, _, err := tlv(v)
		if err != nil || t != 0x64 {
			return id, nil, nil, nil
		}
		e, err := parseEntry(ent)
		if err != nil {
			return id, nil, nil, nil
		}
		return id, e, nil, nil
	}
	return id, nil, nil, nil
}
