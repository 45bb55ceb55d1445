package aadc_test

import (
	"testing"

	"github.com/idsync/idsync/aadc"
)

// BenchmarkImportDefaultRules converts the 62 default rules (1,200 flows,
// every expression compiled) from files already read.
func BenchmarkImportDefaultRules(b *testing.B) {
	files, err := aadc.ReadPaths([]string{defaultRules})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res := aadc.Import(files, defaultMap)
		if len(res.Rules) != 62 {
			b.Fatal(res.Summary())
		}
	}
}
