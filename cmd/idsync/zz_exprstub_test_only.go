//go:build exprstub

package main

import "github.com/spf13/cobra"

// Temporary stand-in until cmd/idsync/expr.go lands; built only with -tags exprstub.
func newExprCmd() *cobra.Command { return &cobra.Command{Use: "expr", Short: "stub"} }
