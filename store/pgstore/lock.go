package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync/store"
)

// Locks are rows of the locks table (who holds it, for messages and
// heartbeats) backed by a session advisory lock that the holder keeps on
// a connection of its own. PostgreSQL frees the advisory lock the moment
// that connection ends, so a holder whose process died (kill -9, lost
// machine) loses its locks at once, on every host; a holder that is
// still connected but stopped heartbeating (hung) is fenced off: its
// connection is terminated before the lock changes hands.

// lockRow is a row of the locks table.
type lockRow struct {
	store.LockOwner
	acquired, heartbeat time.Time
	backendPID          int32
}

// takeoverWait bounds how long TryLock waits for a fenced-off holder's
// advisory lock, or one being released.
const takeoverWait = 5 * time.Second

// alive reports whether the holder of l, whose session still holds the
// advisory lock, still holds it at now: its heartbeat is recent, and,
// when it runs on this host, its process exists.
func (db *DB) alive(l lockRow, now time.Time) (bool, string) {
	if now.Sub(l.heartbeat) > db.lockTO {
		return false, fmt.Sprintf("its heartbeat is %s old", now.Sub(l.heartbeat).Round(time.Second))
	}
	if l.Host == db.host && l.PID > 0 && !processAlive(l.PID) {
		return false, fmt.Sprintf("process %d is gone", l.PID)
	}
	return true, ""
}

// TryLock takes the named lock for owner (see store.Store). It runs its
// own write transaction.
func (db *DB) TryLock(ctx context.Context, name string, owner store.LockOwner) (store.Lock, error) {
	if owner.ID == "" {
		return nil, fmt.Errorf("pgstore: lock %s: the owner needs an ID", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: lock %s: %w", name, err)
	}
	l, err := db.tryLock(ctx, name, owner)
	if err != nil {
		return nil, fmt.Errorf("pgstore: lock %s: %w", name, err)
	}
	return l, nil
}

func (db *DB) tryLock(ctx context.Context, name string, owner store.LockOwner) (*lock, error) {
	key := db.lockKey(name)
	conn, err := pgx.ConnectConfig(ctx, db.cfg.ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	l := &lock{db: db, name: name, owner: owner.ID, key: key, conn: conn}
	var backend int32
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			// Closing the session frees an advisory lock taken below.
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	try := func() (bool, error) {
		var got bool
		err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got)
		return got, err
	}
	err = db.withTx(ctx, true, func(t *tx) error {
		now := db.now()
		var r lockRow
		var acq, hb int64
		err := t.queryRow(ctx, `SELECT owner_id, host, pid, what, acquired, heartbeat, backend_pid FROM locks WHERE name = $1`, name).
			Scan(&r.ID, &r.Host, &r.PID, &r.What, &acq, &hb, &r.backendPID)
		found := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		r.acquired, r.heartbeat = time.Unix(0, acq), time.Unix(0, hb)
		got, err := try()
		if err != nil {
			return err
		}
		switch {
		case got && found && r.ID != owner.ID:
			db.log.Warn("pgstore: taking over the lock of a holder whose session ended", "lock", name, "holder", r.What,
				"holderID", r.ID, "host", r.Host, "pid", r.PID, "owner", owner.What)
		case !got && found && r.ID != owner.ID:
			if alive, why := db.alive(r, now); alive {
				return fmt.Errorf("held by %s (owner %s, host %s, pid %d, since %s): %w",
					r.What, r.ID, r.Host, r.PID, r.acquired.UTC().Format(time.RFC3339), store.ErrLocked)
			} else {
				db.log.Warn("pgstore: fencing off a dead lock holder", "lock", name, "holder", r.What,
					"holderID", r.ID, "host", r.Host, "pid", r.PID, "reason", why, "owner", owner.What)
			}
			if got, err = db.fence(ctx, conn, key, try); err != nil {
				return err
			}
		case !got:
			// Our own earlier handle (same owner ID), or a holder
			// releasing it right now.
			if got, err = db.fence(ctx, conn, key, try); err != nil {
				return err
			}
		}
		if !got {
			return fmt.Errorf("its advisory lock is still held after %s: %w", takeoverWait, store.ErrLocked)
		}
		_, err = t.exec(ctx, `INSERT INTO locks (name, owner_id, host, pid, what, acquired, heartbeat, backend_pid) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
ON CONFLICT (name) DO UPDATE SET owner_id = excluded.owner_id, host = excluded.host, pid = excluded.pid,
what = excluded.what, acquired = excluded.acquired, heartbeat = excluded.heartbeat, backend_pid = excluded.backend_pid`,
			name, owner.ID, owner.Host, int32(owner.PID), owner.What, now.UnixNano(), backend)
		return err
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

// fence terminates the session that holds the advisory lock key (a dead
// holder's, or this owner's earlier handle) and waits for the lock. A
// lock being released is free after a moment without any termination.
func (db *DB) fence(ctx context.Context, conn *pgx.Conn, key int64, try func() (bool, error)) (bool, error) {
	hi, lo := int64(uint64(key)>>32), int64(uint32(key))
	deadline := time.Now().Add(takeoverWait)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			_, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid, 1000) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2
AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND pid <> pg_backend_pid()`, hi, lo)
			if err != nil {
				return false, fmt.Errorf("terminate the session of the previous holder: %w", err)
			}
		}
		got, err := try()
		if err != nil || got {
			return got, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lock is a held lock.
type lock struct {
	db    *DB
	name  string
	owner string
	key   int64

	mu   sync.Mutex
	conn *pgx.Conn // holds the advisory lock; nil once released
}

// Heartbeat refreshes the lock. It returns an error wrapping
// store.ErrLocked when the lock was taken over, released, or its session
// ended.
func (l *lock) Heartbeat(ctx context.Context) error {
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("pgstore: heartbeat lock %s: released: %w", l.name, store.ErrLocked)
	}
	err := l.db.withTx(ctx, true, func(t *tx) error {
		tag, err := t.exec(ctx, `UPDATE locks SET heartbeat = $1 WHERE name = $2 AND owner_id = $3`, l.db.now().UnixNano(), l.name, l.owner)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("lost it: %w", store.ErrLocked)
		}
		return nil
	})
	if err == nil {
		l.mu.Lock()
		if l.conn != nil {
			if perr := l.conn.Ping(ctx); perr != nil && ctx.Err() == nil {
				err = fmt.Errorf("the session holding it ended (%v): %w", perr, store.ErrLocked)
			}
		}
		l.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("pgstore: heartbeat lock %s: %w", l.name, err)
	}
	return nil
}

// Release releases the lock. Releasing a lock that was taken over leaves
// the new holder's lock alone and returns nil.
func (l *lock) Release(ctx context.Context) error {
	l.mu.Lock()
	conn := l.conn
	l.conn = nil
	l.mu.Unlock()
	if conn == nil {
		return nil
	}
	err := l.db.withTx(ctx, true, func(t *tx) error {
		_, err := t.exec(ctx, `DELETE FROM locks WHERE name = $1 AND owner_id = $2`, l.name, l.owner)
		return err
	})
	// Ending the session frees the advisory lock (the session may be gone
	// already, when the lock was taken over).
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("pgstore: release lock %s: %w", l.name, err)
	}
	return nil
}
