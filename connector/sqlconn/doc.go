// Package sqlconn is the generic SQL connector (type "sql"): tables,
// views or configured queries of PostgreSQL (pgx), MySQL and MariaDB
// (go-sql-driver/mysql), SQLite (modernc.org/sqlite) and SQL Server
// (go-mssqldb), over database/sql. The package is not named sql so that
// it does not shadow database/sql.
//
//	connectors:
//	  - name: hr
//	    type: sql
//	    settings:
//	      driver: postgres                  # postgres, mysql, sqlite or sqlserver
//	      dsn: postgres://idsync@db.example.com:5432/hr?sslmode=verify-full
//	      password: {env: IDSYNC_HR_PASSWORD}
//	      objectTypes:
//	        - name: person
//	          table: hr.employees           # or query: SELECT …
//	          anchor: [employee_id]         # one or more columns
//	          references: [manager_id]      # anchors of other objects
//	          exclude: [modified_at, is_deleted]
//	          multiValued:
//	            - {attribute: mail, table: hr.employee_mail, parentColumns: [employee_id], valueColumn: address}
//	          softDelete: {column: is_deleted}
//	          delta: {mode: watermark, column: modified_at}   # or changeTable, snapshot
//	          export:                       # optional: statements or procedures instead of INSERT/UPDATE/DELETE
//	            update: {statement: "UPDATE hr.employees SET title = :title WHERE employee_id = :anchor"}
//
// Import reads each object type in keyset pages ordered by the anchor
// (WHERE anchor > last ORDER BY anchor LIMIT n), with the child rows of
// each page's anchor range; column types come from the database catalog
// (information_schema, pragma_table_info). The DN is the anchor (DN style
// none); reference values are anchors of other objects.
//
// Delta import works per object type by a watermark column (timestamp,
// number or rowversion), a change table with an operation column, or a
// comparison with a snapshot of (anchor, hash) pairs kept in the
// watermark. Deletions come from a soft-delete column, the change table or
// the snapshot.
//
// Export runs one transaction per page: consecutive inserts of the same
// shape become multi-row INSERTs, updates touch only the changed columns
// and child rows, deletes remove child rows then the row (or set the
// soft-delete column). Everything runs under savepoints, so that one
// failing change is reported on its own while the rest of the page
// commits. Identifiers from configuration are quoted by the dialect; data
// is always bound as parameters. A database that goes away makes the
// operation fail with idsync.KindTransient, and the run stops as
// stopped-connectivity.
//
// See docs/sql-connector.md.
package sqlconn
