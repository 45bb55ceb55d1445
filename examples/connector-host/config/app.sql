-- The application's user table that the connector host serves (SQLite).
-- `go run ./examples/connector-host/setup` creates config/app.db from this
-- file. The database assigns id (INTEGER PRIMARY KEY): it is the
-- connector's anchor, hence the SCIM id the host returns after a create.
CREATE TABLE users (
  id           INTEGER PRIMARY KEY,
  user_name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
  employee_id  TEXT,
  given_name   TEXT,
  family_name  TEXT,
  display_name TEXT,
  mail         TEXT,
  title        TEXT,
  department   TEXT,
  active       BOOLEAN NOT NULL DEFAULT TRUE
);

INSERT INTO users (user_name, employee_id, given_name, family_name, display_name, mail, title, department, active)
VALUES ('ada@example.com', '1001', 'Ada', 'Lovelace', 'Ada Lovelace', 'ada@example.com', 'Analyst', 'Research', TRUE);
