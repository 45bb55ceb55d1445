package sqlconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"
	"modernc.org/sqlite"

	"github.com/idsync/idsync"
)

// classify wraps a database error as an *idsync.Error whose Kind tells
// the engine what happened: KindTransient for a database that went away
// (the run stops as stopped-connectivity), KindPermission, KindConflict,
// KindNotFound. op names the step ("import person", "catalog hr.emp").
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sql: %s: %w", op, err)
	}
	if idsync.KindOf(err) != idsync.KindOther {
		return err
	}
	return &idsync.Error{Op: "sql: " + op, Kind: kindOf(err), Err: err}
}

// kindOf maps driver errors onto kinds.
func kindOf(err error) idsync.Kind {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03", pg.Code == "53300":
			return idsync.KindTransient
		case pg.Code == "42501", pg.Code == "28000", pg.Code == "28P01":
			return idsync.KindPermission
		case pg.Code == "23505":
			return idsync.KindConflict
		case pg.Code == "42P01", pg.Code == "42703", pg.Code == "42883":
			return idsync.KindNotFound
		}
		return idsync.KindOther
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1040, 1053, 1077, 1152, 1153, 1159, 1161, 1184, 1317, 1927, 2002, 2003, 2006, 2013:
			return idsync.KindTransient
		case 1044, 1045, 1142, 1143, 1227, 1370:
			return idsync.KindPermission
		case 1062, 1586:
			return idsync.KindConflict
		case 1146, 1054, 1305:
			return idsync.KindNotFound
		}
		return idsync.KindOther
	}
	var ms mssql.Error
	if errors.As(err, &ms) {
		switch ms.Number {
		case 2627, 2601:
			return idsync.KindConflict
		case 229, 230, 262, 18456:
			return idsync.KindPermission
		case 208, 207, 2812:
			return idsync.KindNotFound
		case 233, 10053, 10054, 4060, 40613, 40197, 40501, 49918, 49919, 49920, 596, 6005:
			return idsync.KindTransient
		}
		return idsync.KindOther
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		switch sq.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return idsync.KindTransient
		case 3, 8: // SQLITE_PERM, SQLITE_READONLY
			return idsync.KindPermission
		case 19: // SQLITE_CONSTRAINT
			if c := sq.Code(); c == 2067 || c == 1555 {
				return idsync.KindConflict
			}
		case 10, 14: // SQLITE_IOERR, SQLITE_CANTOPEN
			return idsync.KindTransient
		}
		if strings.Contains(sq.Error(), "no such table") || strings.Contains(sq.Error(), "no such column") {
			return idsync.KindNotFound
		}
		return idsync.KindOther
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return idsync.KindTransient
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return idsync.KindTransient
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"conn closed", "connection reset", "broken pipe", "unexpected eof", "bad connection", "connection refused", "server closed the connection", "invalid connection"} {
		if strings.Contains(msg, s) {
			return idsync.KindTransient
		}
	}
	return idsync.KindOther
}

// errorType names a failed export for the run history.
func errorType(err error) string {
	switch idsync.KindOf(err) {
	case idsync.KindConflict:
		return "AttributeValueMustBeUnique"
	case idsync.KindNotFound:
		return "NoSuchObject"
	case idsync.KindPermission:
		return "PermissionIssue"
	case idsync.KindInvalid:
		return "InvalidValue"
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "23") {
		return "ConstraintViolation"
	}
	return "ExportErrorCustomContinueRun"
}
