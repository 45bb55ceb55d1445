// Package csv is the CSV file connector: full import of a delimited text
// file, and crash-safe, atomic export into one.
//
// # Configuration
//
// The connector's settings mapping decodes into Config:
//
//	connectors:
//	  - name: hr
//	    type: csv
//	    settings:
//	      path: hr.csv                    # relative to the configuration directory
//	      objectType: person              # default person
//	      anchor: [employeeId]            # one or more columns; several are joined with "|"
//	      dn: "CN={displayName},OU=People" # a column name, a {column} template, or empty: the anchor
//	      delimiter: ","                  # default ","
//	      multiValueSeparator: ";"        # default ";"
//	      multiValued: [mail, groups]
//	      types:                          # default string
//	        employeeId: integer
//	        active: boolean
//	        photo: binary                 # Base64 in the file
//	        manager: reference            # the DN of another row (its anchor when dn is empty)
//	        hired: datetime               # RFC 3339 in the file
//	      columns: [employeeId, displayName, mail, groups, active, photo, manager, hired]
//	      exportPath: hr-out.csv          # default: path
//	      header: true                    # default true; false needs columns
//
// # Import
//
// Import streams the file and emits one Entry per row; an empty cell is an
// absent attribute. A malformed row — a wrong number of fields, a value
// its column's type cannot read, an empty anchor, a broken quote, an
// anchor already seen in the file — is emitted as an Entry with Err and
// Source naming the file and line ("hr.csv:17"), and the other rows are
// still emitted. Memory holds the set of anchors, never the rows.
//
// # Export
//
// Export is crash-safe and atomic. OpenExport reads the anchors of the
// export file and creates a journal, <exportPath>.journal. ExportPage
// checks each change, appends the accepted ones to the journal as JSON
// lines and fsyncs it before returning, so an acknowledged change
// survives a crash. Close streams the old file into a temporary file in
// the same directory, applying the net effect of the session (a map of the
// changed anchors only) and appending added rows, fsyncs it, renames it
// over the target, fsyncs the directory and removes the journal: the
// target file is never half-written. A journal left by a crash is applied
// by the next OpenExport or Import, whichever comes first.
//
// Rows are replaced as a whole (export type ObjectReplace), but Update
// changes may carry attribute modifications (replace, add, delete, clear)
// and are applied to the row. An Add (or Replace) of an anchor that
// already exists replaces that row and succeeds, whether or not its values
// differ; a Delete of an absent anchor succeeds. That makes re-delivery
// of a page idempotent, as the engine may resend a page acknowledged just
// before a crash. An Update of an absent anchor fails with ObjectNotFound.
//
// Written values are formatted as Value.String does: multi-valued cells
// joined by the separator, binary as Base64, datetimes as RFC 3339 (UTC),
// booleans as True/False. Only one process may export to a file at a
// time; the engine's connector lock sees to that.
package csv
