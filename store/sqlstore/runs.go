package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

func (t *tx) GetWatermark(ctx context.Context, connector, partition string) ([]byte, error) {
	var wm []byte
	err := t.queryRow(ctx, `SELECT value FROM watermarks WHERE connector = ? AND part = ?`, connector, partition).Scan(&wm)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get watermark of %s: %w", connector, err)
	}
	if wm == nil {
		wm = []byte{}
	}
	return wm, nil
}

func (t *tx) PutWatermark(ctx context.Context, connector, partition string, wm []byte) error {
	if wm == nil {
		wm = []byte{}
	}
	_, err := t.exec(ctx, `INSERT INTO watermarks (connector, part, value) VALUES (?, ?, ?)
ON CONFLICT (connector, part) DO UPDATE SET value = excluded.value`, connector, partition, wm)
	if err != nil {
		return fmt.Errorf("sqlstore: put watermark of %s: %w", connector, err)
	}
	return nil
}

func (t *tx) DeleteWatermark(ctx context.Context, connector, partition string) error {
	if _, err := t.exec(ctx, `DELETE FROM watermarks WHERE connector = ? AND part = ?`, connector, partition); err != nil {
		return fmt.Errorf("sqlstore: delete watermark of %s: %w", connector, err)
	}
	return nil
}

func (t *tx) NextSeq(ctx context.Context, name string) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `INSERT INTO seqs (name, value) VALUES (?, 1)
ON CONFLICT (name) DO UPDATE SET value = seqs.value + 1 RETURNING value`, name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: next value of sequence %s: %w", name, err)
	}
	return n, nil
}

func (t *tx) PutRun(ctx context.Context, r *idsync.RunResult) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("sqlstore: put run: a run needs an ID")
	}
	data, err := sqlshared.EncodeRun(r)
	if err != nil {
		return fmt.Errorf("sqlstore: put run %s: %w", r.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO runs (id, connector, status, started, data) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET connector = excluded.connector, status = excluded.status,
started = excluded.started, data = excluded.data`, r.ID, r.Connector, string(r.Status), r.Started.UnixNano(), data)
	if err != nil {
		return fmt.Errorf("sqlstore: put run %s: %w", r.ID, err)
	}
	return nil
}

func (t *tx) AddRunErrors(ctx context.Context, runID string, errs []idsync.ObjectError) error {
	if len(errs) == 0 {
		return nil
	}
	var last int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM run_errors WHERE run_id = ?`, runID).Scan(&last); err != nil {
		return fmt.Errorf("sqlstore: add errors to run %s: %w", runID, err)
	}
	args := make([]any, 0, 3*len(errs))
	for i := range errs {
		data, err := json.Marshal(&errs[i])
		if err != nil {
			return fmt.Errorf("sqlstore: add errors to run %s: %w", runID, err)
		}
		args = append(args, runID, last+int64(i)+1, data)
	}
	if err := insertRows(ctx, t, `INSERT INTO run_errors (run_id, seq, data) VALUES`, 3, "", args); err != nil {
		return fmt.Errorf("sqlstore: add errors to run %s: %w", runID, err)
	}
	return nil
}

const runCols = `data`

func scanRun(rows interface{ Scan(...any) error }) (*idsync.RunResult, error) {
	var data []byte
	if err := rows.Scan(&data); err != nil {
		return nil, err
	}
	return sqlshared.DecodeRun(data)
}

func (t *tx) GetRun(ctx context.Context, id string, maxErrors int) (*idsync.RunResult, error) {
	r, err := scanRun(t.queryRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlstore: get run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get run %s: %w", id, err)
	}
	q := `SELECT data FROM run_errors WHERE run_id = ? ORDER BY seq`
	args := []any{id}
	if maxErrors > 0 {
		q += ` LIMIT ?`
		args = append(args, maxErrors)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get errors of run %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("sqlstore: get errors of run %s: %w", id, err)
		}
		var e idsync.ObjectError
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("sqlstore: decode error of run %s: %w", id, err)
		}
		r.Errors = append(r.Errors, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: get errors of run %s: %w", id, err)
	}
	return r, nil
}

func (t *tx) ListRuns(ctx context.Context, f store.RunFilter) ([]*idsync.RunResult, error) {
	var conds []string
	var args []any
	if f.Connector != "" {
		conds = append(conds, "connector = ?")
		args = append(args, f.Connector)
	}
	if f.Status != "" {
		conds = append(conds, "status = ?")
		args = append(args, string(f.Status))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "started >= ?")
		args = append(args, f.Since.UnixNano())
	}
	q := `SELECT ` + runCols + ` FROM runs`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY started DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list runs: %w", err)
	}
	defer rows.Close()
	var runs []*idsync.RunResult
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list runs: %w", err)
	}
	return runs, nil
}
