package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idsync/idsync/store"
)

// lockRow is a row of the locks table.
type lockRow struct {
	store.LockOwner
	acquired, heartbeat time.Time
}

// alive reports whether the holder of l still holds it at now: its
// heartbeat is recent, and, when it runs on this host, its process exists.
func (db *DB) alive(l lockRow, now time.Time) (bool, string) {
	if now.Sub(l.heartbeat) > db.lockTO {
		return false, fmt.Sprintf("its heartbeat is %s old", now.Sub(l.heartbeat).Round(time.Second))
	}
	if l.Host == db.host && l.PID > 0 && !processAlive(l.PID) {
		return false, fmt.Sprintf("process %d is gone", l.PID)
	}
	return true, ""
}

// TryLock takes the named lock for owner in its own write transaction
// (so it waits for a write transaction in progress: do not call it while
// holding one on the same goroutine). An owner with the ID of the current
// holder takes the lock again. Locks are rows of the database, so they are
// exclusive across every process that opens the file.
func (db *DB) TryLock(ctx context.Context, name string, owner store.LockOwner) (store.Lock, error) {
	if owner.ID == "" {
		return nil, fmt.Errorf("sqlstore: lock %s: the owner needs an ID", name)
	}
	err := db.withTx(ctx, true, func(t *tx) error {
		now := db.now()
		var l lockRow
		var acq, hb int64
		err := t.queryRow(ctx, `SELECT owner_id, host, pid, what, acquired, heartbeat FROM locks WHERE name = ?`, name).
			Scan(&l.ID, &l.Host, &l.PID, &l.What, &acq, &hb)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case l.ID != owner.ID:
			l.acquired, l.heartbeat = time.Unix(0, acq), time.Unix(0, hb)
			if ok, why := db.alive(l, now); ok {
				return fmt.Errorf("held by %s (owner %s, host %s, pid %d, since %s): %w",
					l.What, l.ID, l.Host, l.PID, l.acquired.UTC().Format(time.RFC3339), store.ErrLocked)
			} else {
				db.log.Warn("sqlstore: taking over lock of a dead holder", "lock", name, "holder", l.What,
					"holderID", l.ID, "host", l.Host, "pid", l.PID, "reason", why, "owner", owner.What)
			}
		}
		_, err = t.exec(ctx, `INSERT INTO locks (name, owner_id, host, pid, what, acquired, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET owner_id = excluded.owner_id, host = excluded.host, pid = excluded.pid,
what = excluded.what, acquired = excluded.acquired, heartbeat = excluded.heartbeat`,
			name, owner.ID, owner.Host, owner.PID, owner.What, now.UnixNano(), now.UnixNano())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	return &lock{db: db, name: name, owner: owner.ID}, nil
}

// lock is a held lock.
type lock struct {
	db    *DB
	name  string
	owner string
}

// Heartbeat refreshes the lock. It returns an error wrapping
// store.ErrLocked when the lock was taken over or released.
func (l *lock) Heartbeat(ctx context.Context) error {
	err := l.db.withTx(ctx, true, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE locks SET heartbeat = ? WHERE name = ? AND owner_id = ?`, l.db.now().UnixNano(), l.name, l.owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("lost it: %w", store.ErrLocked)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: heartbeat lock %s: %w", l.name, err)
	}
	return nil
}

// Release releases the lock. Releasing a lock that was taken over leaves
// the new holder's lock alone and returns nil.
func (l *lock) Release(ctx context.Context) error {
	err := l.db.withTx(ctx, true, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM locks WHERE name = ? AND owner_id = ?`, l.name, l.owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: release lock %s: %w", l.name, err)
	}
	return nil
}
