package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore"
	"github.com/idsync/idsync/store/pgstore/pgtest"
	"github.com/idsync/idsync/store/storetest"
)

// MustOpen opens a store on dsn and closes it at the end of the test.
func MustOpen(tb testing.TB, dsn string, opts pgstore.Options) *pgstore.DB {
	tb.Helper()
	db, err := pgstore.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	pgtest.DSN(t)
	clock := storetest.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	const timeout = time.Minute
	storetest.Run(t, func(t *testing.T) store.Store {
		return MustOpen(t, pgtest.Schema(t), pgstore.Options{Now: clock.Now, LockTimeout: timeout})
	}, storetest.WithClock(clock, timeout))
}
