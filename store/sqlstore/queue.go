package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idsync/idsync/store"
)

var _ store.RunQueue = (*DB)(nil)

const queueCols = `id, connector, profile, state, enqueued, claimer_id, claimer_host, claimer_pid, claimer_what, heartbeat, attempts, steps_done, run_id, message`

func scanQueued(row interface{ Scan(...any) error }) (*store.QueuedRun, error) {
	var q store.QueuedRun
	var state string
	var enq, hb int64
	if err := row.Scan(&q.ID, &q.Connector, &q.Profile, &state, &enq, &q.Claimer.ID, &q.Claimer.Host, &q.Claimer.PID, &q.Claimer.What, &hb, &q.Attempts, &q.StepsDone, &q.RunID, &q.Message); err != nil {
		return nil, err
	}
	q.State = store.QueueState(state)
	q.Enqueued = time.Unix(0, enq).UTC()
	if hb != 0 {
		q.Heartbeat = time.Unix(0, hb).UTC()
	}
	return &q, nil
}

// Enqueue adds a queue entry.
func (db *DB) Enqueue(ctx context.Context, q *store.QueuedRun) error {
	if q == nil || q.ID == "" || q.Connector == "" || q.Profile == "" {
		return fmt.Errorf("sqlstore: enqueue: an entry needs an ID, a connector and a profile")
	}
	if q.Enqueued.IsZero() {
		q.Enqueued = db.now().UTC()
	}
	q.State = store.QueueQueued
	err := db.withTx(ctx, true, func(t *tx) error {
		_, err := t.exec(ctx, `INSERT INTO run_queue (id, connector, profile, state, enqueued) VALUES (?, ?, ?, ?, ?)`,
			q.ID, q.Connector, q.Profile, string(q.State), q.Enqueued.UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue run %s of %s: %w", q.Profile, q.Connector, err)
	}
	return nil
}

// ClaimRun claims the oldest claimable entry in a write transaction
// (writers are serialized, so two workers never claim one entry).
func (db *DB) ClaimRun(ctx context.Context, worker store.LockOwner, connectors []string, stale time.Duration) (*store.QueuedRun, error) {
	if worker.ID == "" {
		return nil, fmt.Errorf("sqlstore: claim a queued run: the worker needs an ID")
	}
	var claimed *store.QueuedRun
	err := db.withTx(ctx, true, func(t *tx) error {
		now := db.now()
		staleBefore := now.Add(-stale).UnixNano()
		q := `SELECT id FROM run_queue q WHERE (state = 'queued' OR (state = 'running' AND heartbeat < ?))
AND NOT EXISTS (SELECT 1 FROM run_queue r WHERE r.connector = q.connector AND r.state = 'running' AND r.heartbeat >= ? AND r.id <> q.id)`
		args := []any{staleBefore, staleBefore}
		if len(connectors) > 0 {
			q += ` AND connector IN (` + placeholders(len(connectors)) + `)`
			for _, c := range connectors {
				args = append(args, c)
			}
		}
		q += ` ORDER BY enqueued, id LIMIT 1`
		var id string
		err := t.sqltx.QueryRowContext(ctx, q, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE run_queue SET state = 'running', claimer_id = ?, claimer_host = ?, claimer_pid = ?, claimer_what = ?,
heartbeat = ?, attempts = attempts + 1 WHERE id = ?`, worker.ID, worker.Host, worker.PID, worker.What, now.UnixNano(), id); err != nil {
			return err
		}
		claimed, err = scanQueued(t.queryRow(ctx, `SELECT `+queueCols+` FROM run_queue WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim a queued run: %w", err)
	}
	return claimed, nil
}

// UpdateClaimed writes an entry its claimer still holds.
func (db *DB) UpdateClaimed(ctx context.Context, q *store.QueuedRun, workerID string) error {
	now := db.now()
	err := db.withTx(ctx, true, func(t *tx) error {
		res, err := t.exec(ctx, `UPDATE run_queue SET state = ?, run_id = ?, message = ?, heartbeat = ?, steps_done = ? WHERE id = ? AND claimer_id = ?`,
			string(q.State), q.RunID, q.Message, now.UnixNano(), q.StepsDone, q.ID, workerID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("worker %s no longer holds it: %w", workerID, store.ErrLocked)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: update queued run %s: %w", q.ID, err)
	}
	q.Heartbeat = now.UTC()
	return nil
}

// GetQueued returns an entry.
func (db *DB) GetQueued(ctx context.Context, id string) (*store.QueuedRun, error) {
	q, err := scanQueued(db.r.QueryRowContext(ctx, `SELECT `+queueCols+` FROM run_queue WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: get queued run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get queued run %s: %w", id, err)
	}
	return q, nil
}

// ListQueue returns entries, oldest first.
func (db *DB) ListQueue(ctx context.Context, states ...store.QueueState) ([]*store.QueuedRun, error) {
	q := `SELECT ` + queueCols + ` FROM run_queue`
	var args []any
	if len(states) > 0 {
		q += ` WHERE state IN (` + placeholders(len(states)) + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	q += ` ORDER BY enqueued, id`
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list the run queue: %w", err)
	}
	defer rows.Close()
	var out []*store.QueuedRun
	for rows.Next() {
		e, err := scanQueued(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list the run queue: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list the run queue: %w", err)
	}
	return out, nil
}
