// Package csv is the CSV file connector: full and delta import of a
// delimited text file, and crash-safe, atomic export into one.
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
// # Delta import and the snapshot watermark
//
// A file has no change log, so delta import compares the file with a
// snapshot of it. The watermark Import returns (and ImportChanges returns
// in turn) is that snapshot: every anchor of the rows read without error,
// each with a 64-bit FNV-1a hash of its row's cells, sorted by anchor and
// prefix-compressed (about 12 bytes an anchor for anchors such as
// E1000042: some 11 MB for a million rows). It is versioned and carries a
// checksum and a fingerprint of the settings that shape an entry (object
// type, anchor, dn, types, multiValued, separators) and of the file's
// columns. The engine stores it only after a successful import, so a
// crash mid-import leaves the previous snapshot in place and the next
// delta import starts from it again: no side file is needed.
//
// ImportChanges streams the file once, like Import, with the snapshot
// decoded into a compact hash index (about 33 MB for a million anchors;
// rows are never held). A row with an anchor the snapshot lacks is an Add,
// a row whose hash differs a Replace — both carry the whole object with
// the values and DN Import would give it — and an unchanged row emits
// nothing, without being parsed. Anchors of the snapshot that no row holds
// are reported as Deletes after the rows, in anchor order; their DN is set
// only when the DN is the anchor. A missing file is an error; a file with
// only a header deletes everything, as with Import.
//
// A malformed row is reported as a Change with Err and Source
// ("hr.csv:17"), and its anchor keeps its snapshot entry: the object is
// neither changed nor deleted until the row is fixed. The second row with
// an anchor is malformed in the same way (the first wins). When a
// malformed row has no anchor that can be trusted — a wrong number of
// fields, a broken quote, an unreadable anchor cell — it could hide any
// row, so that delta import reports no deletion at all and keeps every
// absent anchor in the snapshot (with a warning in the log); the deletions
// come with the first delta import after the file is fixed, or with a full
// import.
//
// A watermark that is not such a snapshot — garbage, another encoding
// version, a checksum mismatch — or whose fingerprint differs from the
// current settings and header makes ImportChanges return
// connector.ErrWatermarkExpired, and the engine runs a full import
// instead.
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
