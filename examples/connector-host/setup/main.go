// Command setup creates the SQLite database of the connector host example
// (examples/connector-host/config/app.db) from config/app.sql, replacing
// the one there: run it once after a fresh clone, and again to start the
// demonstration afresh.
//
//	go run ./examples/connector-host/setup [-db examples/connector-host/config/app.db]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	connectorhost "github.com/idsync/idsync/examples/connector-host"
)

func main() {
	db := flag.String("db", "examples/connector-host/config/app.db", "the database file to create")
	flag.Parse()
	if err := connectorhost.CreateDatabase(context.Background(), *db); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	fmt.Println("created", *db, "from app.sql")
}
