package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Planner statistics. A full import or sync grows tables from nothing to
// millions of rows in minutes; until ANALYZE runs, the planner believes
// them tiny and picks plans (a scan of every index entry of an attribute
// instead of a lookup per value, a hash join over the whole connector
// space) whose cost grows with the table, making a run quadratic.
// Autovacuum catches up only after a delay, and may be off. So the store
// counts the rows it writes per table and, after a commit that took a
// table past analyzeMin written rows and its size at its last ANALYZE
// (so that ANALYZE runs a logarithmic number of times as a table grows), analyzes that table in the background (once at a time).

const analyzeMin = 1000

// analyzed tables: the statistics-relevant ones.
var analyzed = []string{"cs", "cs_index", "mv", "mv_index"}

type analyzeState struct {
	grown   int64 // rows written since the last ANALYZE
	size    int64 // rows at the last ANALYZE (as counted here)
	running bool
}

// noteWrites records rows written per table by a committed transaction
// and starts the ANALYZE runs that are due.
func (db *DB) noteWrites(rows map[string]int64) {
	if len(rows) == 0 {
		return
	}
	db.anMu.Lock()
	defer db.anMu.Unlock()
	for table, n := range rows {
		s := db.an[table]
		if s == nil {
			continue
		}
		s.grown += n
		if s.running || s.grown < analyzeMin || s.grown < s.size {
			continue
		}
		s.running = true
		grown := s.grown
		db.anWG.Add(1)
		go db.analyze(table, grown)
	}
}

func (db *DB) analyze(table string, grown int64) {
	defer db.anWG.Done()
	ctx, cancel := context.WithTimeout(db.bg, 5*time.Minute)
	defer cancel()
	start := time.Now()
	_, err := db.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize())
	db.anMu.Lock()
	s := db.an[table]
	s.running = false
	if err == nil {
		s.size += grown
		s.grown -= grown
	}
	db.anMu.Unlock()
	if err != nil {
		if db.bg.Err() == nil {
			db.log.Warn("pgstore: analyze", "table", table, "err", err)
		}
		return
	}
	db.log.Debug("pgstore: analyzed", "table", table, "rows", s.size, "took", time.Since(start))
}

// analyzeStale analyzes, in the background, the tables that hold rows
// but were never analyzed (autovacuum off or behind): a process that
// only reads would otherwise plan against empty statistics.
func (db *DB) analyzeStale(ctx context.Context) error {
	rows, err := db.pool.Query(ctx, `SELECT relname, n_live_tup FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = ANY($1) AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup >= $2`,
		analyzed, int64(analyzeMin))
	if err != nil {
		return err
	}
	stale := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return err
		}
		stale[name] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	db.noteWrites(stale)
	return nil
}
