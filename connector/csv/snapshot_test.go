package csv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func buildSet(t testing.TB, anchors ...string) *anchorSet {
	t.Helper()
	s := newFileSet(0)
	for i, a := range anchors {
		j, err := s.add(a, uint64(i)*0x9e3779b97f4a7c15, i+2)
		if err != nil {
			t.Fatal(err)
		}
		s.ok[j] = true
	}
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var anchors []string
	seen := map[string]bool{}
	for len(anchors) < 5000 {
		a := fmt.Sprintf("E%07d", rng.IntN(10_000_000))
		if rng.IntN(10) == 0 {
			a = string([]byte{byte(rng.IntN(256)), byte(rng.IntN(256))}) // any bytes
		}
		if !seen[a] {
			seen[a] = true
			anchors = append(anchors, a)
		}
	}
	s := buildSet(t, anchors...)
	for _, a := range anchors {
		if i := s.find(a); i < 0 || string(s.anchor(i)) != a {
			t.Fatalf("find(%q) = %d", a, i)
		}
	}
	if s.find("nope") >= 0 {
		t.Fatal("found an absent anchor")
	}
	wm := encodeSnapshot(42, s, nil)
	d, fp, err := decodeSnapshot(wm)
	if err != nil || fp != 42 {
		t.Fatalf("decode = %v, %d", err, fp)
	}
	if d.len() != len(anchors) {
		t.Fatalf("decoded %d entries, want %d", d.len(), len(anchors))
	}
	for i := range d.len() {
		if i > 0 && bytes.Compare(d.anchor(i-1), d.anchor(i)) >= 0 {
			t.Fatalf("entries out of order at %d", i)
		}
		j := s.find(string(d.anchor(i)))
		if j < 0 || s.hashes[j] != d.hashes[i] || d.lines[i] != 0 {
			t.Fatalf("entry %q: hash %x, want %x", d.anchor(i), d.hashes[i], s.hashes[j])
		}
		if d.find(string(d.anchor(i))) != i {
			t.Fatalf("decoded index cannot find %q", d.anchor(i))
		}
	}
	if again := encodeSnapshot(42, d, nil); !bytes.Equal(again, wm) {
		t.Fatal("re-encoding a decoded snapshot changed it")
	}
	// Prefix compression keeps it small: about 12 bytes an entry here.
	if per := len(wm) / len(anchors); per > 14 {
		t.Errorf("%d bytes an entry", per)
	}
}

func TestMergeSnapshot(t *testing.T) {
	old := buildSet(t, "a", "c", "e", "g")
	oldDec, _, err := decodeSnapshot(encodeSnapshot(1, old, nil)) // sorted, as ImportChanges has it
	if err != nil {
		t.Fatal(err)
	}
	added := buildSet(t, "h", "b", "d", "0", "f")
	added.ok[added.find("d")] = false
	wm := mergeSnapshot(7, oldDec, func(i int) bool { return string(oldDec.anchor(i)) != "e" }, added, func(i int) bool { return added.ok[i] })
	d, fp, err := decodeSnapshot(wm)
	if err != nil || fp != 7 {
		t.Fatal(err)
	}
	var got []string
	for i := range d.len() {
		got = append(got, string(d.anchor(i)))
	}
	if want := []string{"0", "a", "b", "c", "f", "g", "h"}; !slices.Equal(got, want) {
		t.Errorf("merged %q, want %q", got, want)
	}
	if h := d.hashes[d.find("b")]; h != added.hashes[added.find("b")] {
		t.Errorf("hash of b = %x", h)
	}
}

func TestSnapshotEmpty(t *testing.T) {
	wm := encodeSnapshot(3, newFileSet(0), nil)
	d, fp, err := decodeSnapshot(wm)
	if err != nil || fp != 3 || d.len() != 0 || d.find("x") >= 0 {
		t.Fatalf("decode(empty) = %v, %d, %v", d, fp, err)
	}
}

// withChecksum returns b with a valid checksum appended, so that the
// fuzzer reaches the parser behind the checksum.
func withChecksum(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(slices.Clip(b), fnvBytes(fnvOffset, b))
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\xffgarbage\x00"))
	f.Add(encodeSnapshot(0, newFileSet(0), nil))
	small := encodeSnapshot(99, buildSet(f, "alpha", "alphabet", "beta", "E1000001", "E1000002"), nil)
	f.Add(small)
	f.Add(small[:len(small)-snapTrailer]) // the body: withChecksum seals it
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withChecksum(b)} {
			d, fp, err := decodeSnapshot(in)
			if err != nil {
				if d != nil {
					t.Fatal("a set with an error")
				}
				continue
			}
			// What decodes is canonical: it encodes back to the same bytes.
			if again := encodeSnapshot(fp, d, nil); !bytes.Equal(again, in) {
				t.Fatalf("decode/encode changed the snapshot:\n%x\n%x", in, again)
			}
			for i := range d.len() {
				if d.find(string(d.anchor(i))) != i {
					t.Fatalf("cannot find entry %d", i)
				}
			}
		}
	})
}
