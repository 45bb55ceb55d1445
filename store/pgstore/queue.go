package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync/store"
)

var _ store.RunQueue = (*DB)(nil)

const queueCols = `id, connector, profile, state, enqueued, claimer_id, claimer_host, claimer_pid, claimer_what, heartbeat, attempts, steps_done, run_id, message`

func scanQueued(row pgx.Row) (*store.QueuedRun, error) {
	var q store.QueuedRun
	var state string
	var enq, hb int64
	var pid int32
	var attempts, stepsDone int32
	if err := row.Scan(&q.ID, &q.Connector, &q.Profile, &state, &enq, &q.Claimer.ID, &q.Claimer.Host, &pid, &q.Claimer.What, &hb, &attempts, &stepsDone, &q.RunID, &q.Message); err != nil {
		return nil, err
	}
	q.State = store.QueueState(state)
	q.Enqueued = time.Unix(0, enq).UTC()
	if hb != 0 {
		q.Heartbeat = time.Unix(0, hb).UTC()
	}
	q.Claimer.PID = int(pid)
	q.Attempts = int(attempts)
	q.StepsDone = int(stepsDone)
	return &q, nil
}

// Enqueue adds a queue entry.
func (db *DB) Enqueue(ctx context.Context, q *store.QueuedRun) error {
	if q == nil || q.ID == "" || q.Connector == "" || q.Profile == "" {
		return fmt.Errorf("pgstore: enqueue: an entry needs an ID, a connector and a profile")
	}
	if q.Enqueued.IsZero() {
		q.Enqueued = db.now().UTC()
	}
	q.State = store.QueueQueued
	_, err := db.pool.Exec(ctx, `INSERT INTO run_queue (id, connector, profile, state, enqueued) VALUES ($1, $2, $3, $4, $5)`,
		q.ID, q.Connector, q.Profile, string(q.State), q.Enqueued.UnixNano())
	if err != nil {
		return fmt.Errorf("pgstore: enqueue run %s of %s: %w", q.Profile, q.Connector, err)
	}
	return nil
}

// ClaimRun claims the oldest claimable entry with FOR UPDATE SKIP LOCKED,
// so that concurrent workers (of any process) never claim one entry twice
// and never wait for each other.
func (db *DB) ClaimRun(ctx context.Context, worker store.LockOwner, connectors []string, stale time.Duration) (*store.QueuedRun, error) {
	if worker.ID == "" {
		return nil, fmt.Errorf("pgstore: claim a queued run: the worker needs an ID")
	}
	now := db.now()
	staleBefore := now.Add(-stale).UnixNano()
	var filter []string
	if len(connectors) > 0 {
		filter = connectors
	}
	q, err := scanQueued(db.pool.QueryRow(ctx, `WITH c AS (
	SELECT id FROM run_queue q
	WHERE (state = 'queued' OR (state = 'running' AND heartbeat < $1))
	AND ($2::text[] IS NULL OR connector = ANY($2))
	AND NOT EXISTS (SELECT 1 FROM run_queue r WHERE r.connector = q.connector AND r.state = 'running' AND r.heartbeat >= $1 AND r.id <> q.id)
	ORDER BY enqueued, id
	LIMIT 1
	FOR UPDATE SKIP LOCKED
)
UPDATE run_queue SET state = 'running', claimer_id = $3, claimer_host = $4, claimer_pid = $5, claimer_what = $6,
heartbeat = $7, attempts = attempts + 1
FROM c WHERE run_queue.id = c.id
RETURNING `+prefixed("run_queue.", queueCols), staleBefore, filter, worker.ID, worker.Host, int32(worker.PID), worker.What, now.UnixNano()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim a queued run: %w", err)
	}
	return q, nil
}

// UpdateClaimed writes an entry its claimer still holds.
func (db *DB) UpdateClaimed(ctx context.Context, q *store.QueuedRun, workerID string) error {
	now := db.now()
	tag, err := db.pool.Exec(ctx, `UPDATE run_queue SET state = $1, run_id = $2, message = $3, heartbeat = $4, steps_done = $7 WHERE id = $5 AND claimer_id = $6`,
		string(q.State), q.RunID, q.Message, now.UnixNano(), q.ID, workerID, int32(q.StepsDone))
	if err != nil {
		return fmt.Errorf("pgstore: update queued run %s: %w", q.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: update queued run %s: worker %s no longer holds it: %w", q.ID, workerID, store.ErrLocked)
	}
	q.Heartbeat = now.UTC()
	return nil
}

// GetQueued returns an entry.
func (db *DB) GetQueued(ctx context.Context, id string) (*store.QueuedRun, error) {
	q, err := scanQueued(db.pool.QueryRow(ctx, `SELECT `+queueCols+` FROM run_queue WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get queued run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get queued run %s: %w", id, err)
	}
	return q, nil
}

// ListQueue returns entries, oldest first.
func (db *DB) ListQueue(ctx context.Context, states ...store.QueueState) ([]*store.QueuedRun, error) {
	var filter []string
	for _, s := range states {
		filter = append(filter, string(s))
	}
	rows, err := db.pool.Query(ctx, `SELECT `+queueCols+` FROM run_queue WHERE ($1::text[] IS NULL OR state = ANY($1)) ORDER BY enqueued, id`, filter)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list the run queue: %w", err)
	}
	defer rows.Close()
	var out []*store.QueuedRun
	for rows.Next() {
		q, err := scanQueued(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list the run queue: %w", err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list the run queue: %w", err)
	}
	return out, nil
}

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = prefix + c
	}
	return strings.Join(parts, ", ")
}
