package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

var (
	t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	t1 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
)

var equateEmpty = cmpopts.EquateEmpty()

// everyValue holds one value of every type, and the zero Value.
var everyValue = []idsync.Value{
	idsync.String("Ada Lovelace"),
	idsync.String(""),
	idsync.Int(-42),
	idsync.Int(1 << 62),
	idsync.Bool(true),
	idsync.Bool(false),
	idsync.Binary([]byte{0, 1, 2, 0xff}),
	idsync.Ref("CN=Ada,OU=People,DC=example,DC=com"),
	idsync.Time(t0),
	idsync.Time(time.Unix(-1e10, 5)),
	{},
}

func fullCS() *idsync.CSObject {
	return &idsync.CSObject{
		Attrs: idsync.Attrs{
			"givenName": {idsync.String("Ada")},
			"all":       everyValue,
			"member":    {idsync.Ref("a"), idsync.Ref("b")},
		},
		Provisioned: true,
		Obsolete:    true,
		PendingExport: &idsync.PendingExport{
			Op:    idsync.OpUpdate,
			NewDN: "CN=New",
			Mods: []idsync.AttrMod{
				{Name: "sn", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("L")}},
				{Name: "member", Op: idsync.AttrDelete, Values: everyValue},
				{Name: "x", Op: idsync.AttrClear},
			},
		},
		ExportStatus: idsync.Attrs{"sn": {idsync.String("L")}},
		Awaiting:     idsync.ConfirmDelete,
		ExportError:  &idsync.ExportError{Type: "t", Message: "m", Retries: 3, First: t0, Last: t1},
		ImportError:  "bad row",
		LinkRule:     "in-hr",
		LinkType:     idsync.LinkProvision,
		LinkedAt:     t1,
		Updated:      t0,
	}
}

func fullMV() *idsync.MVObject {
	lin := map[string]idsync.Lineage{}
	for i, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		lin[n] = idsync.Lineage{Rule: []string{"r1", "r2", "r3"}[i%3], Connector: "hr", CSID: "cs1", RunID: "run1", At: t0, Flow: "Direct " + n}
	}
	lin["z"] = idsync.Lineage{Rule: "r9", Connector: "ad", CSID: "cs2", RunID: "run2", At: t1}
	return &idsync.MVObject{
		Attrs:             idsync.Attrs{"all": everyValue, "mail": {idsync.String("ada@example.com")}},
		Lineage:           lin,
		RetryProvisioning: true,
		Created:           t0,
		Updated:           t1,
	}
}

func TestCSDataRoundTrip(t *testing.T) {
	for name, o := range map[string]*idsync.CSObject{
		"every field": fullCS(),
		"empty":       {},
		"attrs only":  {Attrs: idsync.Attrs{"a": {idsync.String("x")}}},
	} {
		t.Run(name, func(t *testing.T) {
			b := store.EncodeCSData(nil, o)
			var got idsync.CSObject
			if err := store.DecodeCSData(b, &got); err != nil {
				t.Fatalf("DecodeCSData: %v", err)
			}
			if d := cmp.Diff(o, &got, equateEmpty); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
			if b2 := store.EncodeCSData(nil, &got); !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs: encoding is not deterministic")
			}
		})
	}
}

func TestMVDataRoundTrip(t *testing.T) {
	for name, o := range map[string]*idsync.MVObject{
		"every field": fullMV(),
		"empty":       {},
	} {
		t.Run(name, func(t *testing.T) {
			b := store.EncodeMVData(nil, o)
			var got idsync.MVObject
			if err := store.DecodeMVData(b, &got); err != nil {
				t.Fatalf("DecodeMVData: %v", err)
			}
			if d := cmp.Diff(o, &got, equateEmpty); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestLineageSharesTuples(t *testing.T) {
	lin := map[string]idsync.Lineage{}
	names := "abcdefghijklmnopqrst"
	for i := range 20 {
		lin[names[i:i+1]] = idsync.Lineage{Rule: []string{"rule-one", "rule-two", "rule-three"}[i%3], Connector: "hr-connector", CSID: "0b9c2a5e-7d3f-4f51-9a1e-6b0d2c3e4f50", RunID: "5f2d8c1a-0e3b-4a7c-9d6e-1f2a3b4c5d6e", At: t0, Flow: "Direct x"}
	}
	b := store.EncodeLineage(nil, lin)
	// 3 tuples of ~100 bytes plus 20 small entries; 20 full tuples would be ~2 KB.
	if len(b) > 600 {
		t.Errorf("EncodeLineage of 20 attributes from 3 rules = %d bytes, want at most 600", len(b))
	}
	got, err := store.DecodeLineage(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(lin, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestStandaloneRoundTrips(t *testing.T) {
	cs := fullCS()
	a, err := store.DecodeAttrs(store.EncodeAttrs(nil, cs.Attrs))
	if err != nil || !cmp.Equal(cs.Attrs, a, equateEmpty) {
		t.Errorf("DecodeAttrs(EncodeAttrs(x)) = %v, %v; want x", a, err)
	}
	m, err := store.DecodeMods(store.EncodeMods(nil, cs.PendingExport.Mods))
	if err != nil || !cmp.Equal(cs.PendingExport.Mods, m, equateEmpty) {
		t.Errorf("DecodeMods(EncodeMods(x)) = %v, %v; want x", m, err)
	}
	p, err := store.DecodePendingExport(store.EncodePendingExport(nil, cs.PendingExport))
	if err != nil || !cmp.Equal(cs.PendingExport, p, equateEmpty) {
		t.Errorf("DecodePendingExport(EncodePendingExport(x)) = %v, %v; want x", p, err)
	}
	e, err := store.DecodeExportError(store.EncodeExportError(nil, cs.ExportError))
	if err != nil || !cmp.Equal(cs.ExportError, e) {
		t.Errorf("DecodeExportError(EncodeExportError(x)) = %v, %v; want x", e, err)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := store.EncodeCSData(nil, fullCS())
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":         {nil, "cs data: truncated"},
		"new version":   {append([]byte{9}, good[1:]...), "unknown format version 9"},
		"truncated":     {good[:len(good)-3], "truncated"},
		"trailing":      {append(append([]byte(nil), good...), 0), "1 trailing bytes"},
		"unknown flags": {[]byte{1, 0x7f}, "unknown flags"},
		"huge count":    {[]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceeds the remaining"},
	} {
		t.Run(name, func(t *testing.T) {
			var o idsync.CSObject
			err := store.DecodeCSData(tc.b, &o)
			if !errors.Is(err, store.ErrMalformed) {
				t.Fatalf("DecodeCSData = %v, want an error wrapping ErrMalformed", err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("DecodeCSData error = %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeCSData(f *testing.F) {
	f.Add(store.EncodeCSData(nil, fullCS()))
	f.Add(store.EncodeCSData(nil, &idsync.CSObject{}))
	f.Add([]byte{1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var o idsync.CSObject
		if err := store.DecodeCSData(b, &o); err != nil {
			if !errors.Is(err, store.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes must re-encode to what decodes the same.
		var o2 idsync.CSObject
		if err := store.DecodeCSData(store.EncodeCSData(nil, &o), &o2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d := cmp.Diff(&o, &o2, equateEmpty); d != "" {
			t.Fatalf("re-decode differs:\n%s", d)
		}
	})
}

func FuzzDecodeMVData(f *testing.F) {
	f.Add(store.EncodeMVData(nil, fullMV()))
	f.Add(store.EncodeMVData(nil, &idsync.MVObject{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o idsync.MVObject
		if err := store.DecodeMVData(b, &o); err != nil {
			if !errors.Is(err, store.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var o2 idsync.MVObject
		if err := store.DecodeMVData(store.EncodeMVData(nil, &o), &o2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if d := cmp.Diff(&o, &o2, equateEmpty); d != "" {
			t.Fatalf("re-decode differs:\n%s", d)
		}
	})
}

func FuzzDecodeParts(f *testing.F) {
	cs := fullCS()
	f.Add(store.EncodeAttrs(nil, cs.Attrs))
	f.Add(store.EncodeMods(nil, cs.PendingExport.Mods))
	f.Add(store.EncodePendingExport(nil, cs.PendingExport))
	f.Add(store.EncodeExportError(nil, cs.ExportError))
	f.Add(store.EncodeLineage(nil, fullMV().Lineage))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, store.ErrMalformed) {
				t.Fatalf("%s: error %v does not wrap ErrMalformed", what, err)
			}
		}
		_, err := store.DecodeAttrs(b)
		check("DecodeAttrs", err)
		_, err = store.DecodeMods(b)
		check("DecodeMods", err)
		_, err = store.DecodePendingExport(b)
		check("DecodePendingExport", err)
		_, err = store.DecodeExportError(b)
		check("DecodeExportError", err)
		_, err = store.DecodeLineage(b)
		check("DecodeLineage", err)
	})
}

func BenchmarkEncodeCSData(b *testing.B) {
	o := benchCS()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = store.EncodeCSData(buf[:0], o)
	}
	b.SetBytes(int64(len(buf)))
}

// TestCSEncoderMatchesEncodeCSData: an encoder that remembers the last
// object's attribute names writes the bytes EncodeCSData writes, whether
// the next object has the same names, fewer, more or others.
func TestCSEncoderMatchesEncodeCSData(t *testing.T) {
	attrs := func(names ...string) idsync.Attrs {
		a := idsync.Attrs{}
		for i, n := range names {
			a[n] = []idsync.Value{idsync.String(n), idsync.Int(int64(i))}
		}
		return a
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	objs := []*idsync.CSObject{
		fullCS(),
		{Attrs: attrs("b", "a", "c")},
		{Attrs: attrs("c", "b", "a")},
		{Attrs: attrs("a", "b", "d")},
		{Attrs: attrs("a", "b")},
		{Attrs: attrs("a", "b", "c", "d")},
		{},
		{Attrs: attrs()},
		{Attrs: attrs(many...)},
		{Attrs: attrs(many...)},
		{Attrs: attrs(many[1:]...)},
		{Attrs: attrs("b", "a", "c")},
		fullCS(),
		fullCS(),
	}
	var e store.CSEncoder
	for i, o := range objs {
		want := store.EncodeCSData(nil, o)
		if got := e.EncodeCSData(nil, o); !bytes.Equal(got, want) {
			t.Fatalf("object %d: the encoder wrote\n%x\nEncodeCSData\n%x", i, got, want)
		}
	}
}

func BenchmarkCSEncoder(b *testing.B) {
	o := benchCS()
	var buf []byte
	var e store.CSEncoder
	b.ReportAllocs()
	for b.Loop() {
		buf = e.EncodeCSData(buf[:0], o)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeCSData(b *testing.B) {
	buf := store.EncodeCSData(nil, benchCS())
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		var o idsync.CSObject
		if err := store.DecodeCSData(buf, &o); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCS() *idsync.CSObject {
	a := idsync.Attrs{}
	for i := range 20 {
		a[string(rune('a'+i))+"Attribute"] = []idsync.Value{idsync.String("some value of twenty-odd bytes")}
	}
	return &idsync.CSObject{Attrs: a, Updated: t0}
}
