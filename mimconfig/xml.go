package mimconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is one XML element: a small tree that keeps line numbers, so that
// errors can name the file, the element and the line.
type node struct {
	name   string // local name, without namespace prefix
	attrs  map[string]string
	kids   []*node
	text   string
	line   int
	parent *node
}

// limits against hostile files.
const (
	maxFileSize = 64 << 20
	maxDepth    = 200
	maxNodes    = 2_000_000
)

// parseXML reads data into a tree. A byte-order mark and an XML
// declaration naming UTF-16 or another encoding are handled as MIM writes
// them (UTF-8 content).
func parseXML(data []byte) (*node, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file larger than %d MiB", maxFileSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff) {
		return nil, errors.New("UTF-16 file: save it as UTF-8 first (for example with iconv -f UTF-16 -t UTF-8)")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "utf-16", "unicode":
			return r, nil // MIM labels UTF-8 exports utf-16 at times
		}
		return nil, fmt.Errorf("unsupported encoding %q", charset)
	}
	var root, cur *node
	var text strings.Builder
	count := 0
	depth := 0
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			depth++
			if count > maxNodes || depth > maxDepth {
				return nil, fmt.Errorf("line %d: too many or too deeply nested elements", line)
			}
			n := &node{name: t.Name.Local, line: line, parent: cur}
			if len(t.Attr) > 0 {
				n.attrs = make(map[string]string, len(t.Attr))
				for _, a := range t.Attr {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if cur == nil {
				if root != nil {
					return nil, fmt.Errorf("line %d: a second root element <%s>", line, n.name)
				}
				root = n
			} else {
				cur.kids = append(cur.kids, n)
			}
			cur = n
			text.Reset()
		case xml.EndElement:
			depth--
			if cur != nil {
				if len(cur.kids) == 0 {
					cur.text = text.String()
				}
				cur = cur.parent
			}
			text.Reset()
		case xml.CharData:
			if cur != nil && len(cur.kids) == 0 {
				text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no XML element found")
	}
	return root, nil
}

// child returns the first child named name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// children returns the children named name.
func (n *node) children(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// at follows a path of child names ("connection-info/server").
func (n *node) at(path string) *node {
	for _, p := range strings.Split(path, "/") {
		n = n.child(p)
	}
	return n
}

// str returns the trimmed text at path, or "".
func (n *node) str(path string) string {
	if m := n.at(path); m != nil {
		return strings.TrimSpace(m.text)
	}
	return ""
}

// find returns every descendant named name, depth first.
func (n *node) find(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		for _, k := range m.kids {
			if k.name == name {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(n)
	return out
}

// empty reports whether n has no children, no attributes and no text.
func (n *node) empty() bool {
	return n == nil || (len(n.kids) == 0 && len(n.attrs) == 0 && strings.TrimSpace(n.text) == "")
}

// where names n for messages: <a>/<b>/<c> at line N.
func (n *node) where() string {
	var parts []string
	for m := n; m != nil; m = m.parent {
		parts = append(parts, "<"+m.name+">")
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return fmt.Sprintf("%s (line %d)", strings.Join(parts, "/"), n.line)
}
