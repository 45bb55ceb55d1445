package sqlshared

import (
	"context"
	"log/slog"
	"slices"
)

// IndexRebuilder is what a store does when its index declaration changes:
// drop the rows of attributes no longer declared (Drop*, never called with
// an empty list) and build those of newly declared attributes from every
// stored object (Build*).
type IndexRebuilder interface {
	DropMVIndex(ctx context.Context, attrs []string) error
	BuildMVIndex(ctx context.Context, attrs []string) error
	DropCSIndex(ctx context.Context, connector string, attrs []string) error
	BuildCSIndex(ctx context.Context, connector string, attrs []string) error
}

// ChangeIndexes applies the change from have to want through r, logging
// each build under the store's name. The caller runs it in one write
// transaction and then records want.
func ChangeIndexes(ctx context.Context, have, want *IndexSet, r IndexRebuilder, log *slog.Logger, storeName string) error {
	gone, added := diffNames(have.MV, want.MV)
	if len(gone) > 0 {
		if err := r.DropMVIndex(ctx, gone); err != nil {
			return err
		}
	}
	if len(added) > 0 {
		log.Info(storeName+": building metaverse value indexes", "attributes", added)
		if err := r.BuildMVIndex(ctx, added); err != nil {
			return err
		}
	}
	connectors := map[string]bool{}
	for c := range have.CS {
		connectors[c] = true
	}
	for c := range want.CS {
		connectors[c] = true
	}
	for c := range connectors {
		gone, added := diffNames(have.CS[c], want.CS[c])
		if len(gone) > 0 {
			if err := r.DropCSIndex(ctx, c, gone); err != nil {
				return err
			}
		}
		if len(added) > 0 {
			log.Info(storeName+": building connector space value indexes", "connector", c, "attributes", added)
			if err := r.BuildCSIndex(ctx, c, added); err != nil {
				return err
			}
		}
	}
	return nil
}

// RebuildPage is how many objects an index build reads at a time.
const RebuildPage = 1000

// diffNames returns the names of a missing from b, and of b missing from a.
func diffNames(a, b []string) (gone, added []string) {
	for _, n := range a {
		if !slices.Contains(b, n) {
			gone = append(gone, n)
		}
	}
	for _, n := range b {
		if !slices.Contains(a, n) {
			added = append(added, n)
		}
	}
	return gone, added
}
