package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

func (t *tx) GetWatermark(ctx context.Context, connector, partition string) ([]byte, error) {
	var wm []byte
	err := t.queryRow(ctx, `SELECT value FROM watermarks WHERE connector = $1 AND part = $2`, []byte(connector), []byte(partition)).Scan(&wm)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get watermark of %s: %w", connector, err)
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
	_, err := t.exec(ctx, `INSERT INTO watermarks (connector, part, value) VALUES ($1, $2, $3)
ON CONFLICT (connector, part) DO UPDATE SET value = excluded.value`, []byte(connector), []byte(partition), wm)
	if err != nil {
		return fmt.Errorf("pgstore: put watermark of %s: %w", connector, err)
	}
	return nil
}

func (t *tx) DeleteWatermark(ctx context.Context, connector, partition string) error {
	if _, err := t.exec(ctx, `DELETE FROM watermarks WHERE connector = $1 AND part = $2`, []byte(connector), []byte(partition)); err != nil {
		return fmt.Errorf("pgstore: delete watermark of %s: %w", connector, err)
	}
	return nil
}

func (t *tx) NextSeq(ctx context.Context, name string) (int64, error) {
	var n int64
	err := t.queryRow(ctx, `INSERT INTO seqs (name, value) VALUES ($1, 1)
ON CONFLICT (name) DO UPDATE SET value = seqs.value + 1 RETURNING value`, name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: next value of sequence %s: %w", name, err)
	}
	return n, nil
}

func (t *tx) PutRun(ctx context.Context, r *idsync.RunResult) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("pgstore: put run: a run needs an ID")
	}
	data, err := sqlshared.EncodeRun(r)
	if err != nil {
		return fmt.Errorf("pgstore: put run %s: %w", r.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO runs (id, connector, status, started, data) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET connector = excluded.connector, status = excluded.status,
started = excluded.started, data = excluded.data`, r.ID, r.Connector, string(r.Status), r.Started.UnixNano(), data)
	if err != nil {
		return fmt.Errorf("pgstore: put run %s: %w", r.ID, err)
	}
	return nil
}

var (
	runErrorCols  = []string{"run_id", "seq", "data"}
	runErrorTypes = []string{"text[]", "bigint[]", "bytea[]"}
)

func (t *tx) AddRunErrors(ctx context.Context, runID string, errs []idsync.ObjectError) error {
	if len(errs) == 0 {
		return nil
	}
	var last int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM run_errors WHERE run_id = $1`, runID).Scan(&last); err != nil {
		return fmt.Errorf("pgstore: add errors to run %s: %w", runID, err)
	}
	rows := make([][]any, len(errs))
	for i := range errs {
		data, err := json.Marshal(&errs[i])
		if err != nil {
			return fmt.Errorf("pgstore: add errors to run %s: %w", runID, err)
		}
		rows[i] = []any{runID, last + int64(i) + 1, data}
	}
	if err := t.insert(ctx, "run_errors", runErrorCols, runErrorTypes, rows); err != nil {
		return fmt.Errorf("pgstore: add errors to run %s: %w", runID, err)
	}
	return nil
}

func (t *tx) GetRun(ctx context.Context, id string, maxErrors int) (*idsync.RunResult, error) {
	var data []byte
	err := t.queryRow(ctx, `SELECT data FROM runs WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: get run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: get run %s: %w", id, err)
	}
	r, err := sqlshared.DecodeRun(data)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get run %s: %w", id, err)
	}
	q := `SELECT data FROM run_errors WHERE run_id = $1 ORDER BY seq`
	args := []any{id}
	if maxErrors > 0 {
		q += ` LIMIT $2`
		args = append(args, int64(maxErrors))
	}
	err = t.each(ctx, q, args, func(rows pgx.Rows) error {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		var e idsync.ObjectError
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode error: %w", err)
		}
		r.Errors = append(r.Errors, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get errors of run %s: %w", id, err)
	}
	return r, nil
}

func (t *tx) ListRuns(ctx context.Context, f store.RunFilter) ([]*idsync.RunResult, error) {
	var conds []string
	var p params
	if f.Connector != "" {
		conds = append(conds, "connector = "+p.add(f.Connector))
	}
	if f.Status != "" {
		conds = append(conds, "status = "+p.add(string(f.Status)))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "started >= "+p.add(f.Since.UnixNano()))
	}
	q := `SELECT data FROM runs`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY started DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + p.add(int64(f.Limit))
	}
	var runs []*idsync.RunResult
	err := t.each(ctx, q, p.args, func(rows pgx.Rows) error {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		r, err := sqlshared.DecodeRun(data)
		if err == nil {
			runs = append(runs, r)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list runs: %w", err)
	}
	return runs, nil
}
