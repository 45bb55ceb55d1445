package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads NNNN_name.sql files from fsys, in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must be NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("sqlstore: migration %s: want version %d", ms[i].name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the schema version this binary migrates to.
func SchemaVersion() int {
	ms, err := loadMigrations(sqliteDialect.migrations)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies pending migrations, each in its own write transaction,
// and fails when the database is newer than the binary.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.d.migrations)
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at INTEGER NOT NULL
)`
	if _, err := db.w.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	for {
		applied := false
		err := db.withTx(ctx, true, func(t *tx) error {
			var cur int
			if err := t.sqltx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return fmt.Errorf("sqlstore: read schema version: %w", err)
			}
			if cur > len(ms) {
				return fmt.Errorf("sqlstore: database %s has schema version %d, newer than version %d that this binary knows: use a newer idsync", db.target.path, cur, len(ms))
			}
			if cur == len(ms) {
				return nil
			}
			m := ms[cur]
			if _, err := t.sqltx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlstore: apply migration %s: %w", m.name, err)
			}
			if _, err := t.sqltx.ExecContext(ctx, db.d.bind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.version, m.name, db.now().UnixNano()); err != nil {
				return fmt.Errorf("sqlstore: record migration %s: %w", m.name, err)
			}
			db.log.Info("sqlstore: applied migration", "migration", m.name, "path", db.target.path)
			applied = true
			return nil
		})
		if err != nil || !applied {
			return err
		}
	}
}
