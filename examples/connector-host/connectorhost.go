// Package connectorhost is the connector host example: `idsync host`
// serving an application's user table, a SQLite database
// (config/app.db), over SCIM 2.0 through the sql connector. See
// README.md. CreateDatabase creates that database from config/app.sql;
// the setup command (go run ./examples/connector-host/setup) runs it, and
// the tests of the host and of the idsync command run the example with it.
package connectorhost

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// SchemaSQL is config/app.sql: the users table and its first row.
//
//go:embed config/app.sql
var SchemaSQL string

// CreateDatabase creates the example's SQLite database at path from
// SchemaSQL, replacing any database already there.
func CreateDatabase(ctx context.Context, path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("example database: %w", err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("example database %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, SchemaSQL); err != nil {
		return fmt.Errorf("example database %s: app.sql: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("example database %s: %w", path, err)
	}
	return nil
}
