-- 0001: the initial schema, the PostgreSQL twin of sqlstore's 0001.
-- Text keys use the "C" collation, so that ORDER BY id and "id > after"
-- page in byte order exactly like SQLite and Go's string comparison.

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE cs (
    id             TEXT COLLATE "C" PRIMARY KEY,
    connector      TEXT COLLATE "C" NOT NULL,
    object_type    TEXT COLLATE "C" NOT NULL,
    kind           SMALLINT NOT NULL,
    part           TEXT COLLATE "C" NOT NULL,
    anchor         TEXT COLLATE "C",  -- NULL: export object not yet confirmed, placeholder
    dn             TEXT COLLATE "C" NOT NULL,
    dn_norm        TEXT COLLATE "C" NOT NULL,
    mv_id          TEXT COLLATE "C",  -- NULL: disjoined
    pending_import SMALLINT NOT NULL,
    has_export     SMALLINT NOT NULL, -- 1 a pending export, 2 a pending delete
    import_gen     BIGINT NOT NULL,
    obsolete       SMALLINT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1,
    data           BYTEA NOT NULL
) WITH (fillfactor = 85); -- room for HOT updates (no index change)
-- data is opaque to the planner: ANALYZE need not sample it.
ALTER TABLE cs ALTER COLUMN data SET STATISTICS 0;
CREATE UNIQUE INDEX cs_anchor ON cs (connector, anchor) WHERE anchor IS NOT NULL;
CREATE INDEX cs_connector ON cs (connector, id);
CREATE INDEX cs_dn ON cs (connector, dn_norm);
CREATE INDEX cs_mv ON cs (mv_id) WHERE mv_id IS NOT NULL;
CREATE INDEX cs_pending_import ON cs (connector, id) WHERE pending_import <> 0;
CREATE INDEX cs_pending_export ON cs (connector, id) WHERE has_export <> 0;

CREATE TABLE cs_index (
    connector TEXT COLLATE "C" NOT NULL,
    attr      TEXT COLLATE "C" NOT NULL,
    fold      TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    cs_id     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX cs_index_value ON cs_index (connector, attr, fold);
CREATE INDEX cs_index_object ON cs_index (cs_id);

CREATE TABLE mv (
    id          TEXT COLLATE "C" PRIMARY KEY,
    object_type TEXT COLLATE "C" NOT NULL,
    data        BYTEA NOT NULL
) WITH (fillfactor = 85);
ALTER TABLE mv ALTER COLUMN data SET STATISTICS 0;
CREATE INDEX mv_type ON mv (object_type, id);

CREATE TABLE mv_index (
    attr        TEXT COLLATE "C" NOT NULL,
    fold        TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,
    mv_id       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX mv_index_value ON mv_index (attr, fold);
CREATE INDEX mv_index_object ON mv_index (mv_id);

-- connector and part are BYTEA: the engine keeps its own state under
-- keys that start with a NUL byte, which TEXT cannot hold.
CREATE TABLE watermarks (
    connector BYTEA NOT NULL,
    part      BYTEA NOT NULL,
    value     BYTEA NOT NULL,
    PRIMARY KEY (connector, part)
);

CREATE TABLE seqs (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE runs (
    id        TEXT COLLATE "C" PRIMARY KEY,
    connector TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    started   BIGINT NOT NULL, -- Unix nanoseconds
    data      BYTEA NOT NULL   -- JSON of idsync.RunResult without its errors
);
CREATE INDEX runs_started ON runs (started, id);

CREATE TABLE run_errors (
    run_id TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- locks: who holds each named lock. The holder also keeps a session
-- advisory lock (on its own connection, whose backend is backend_pid),
-- which PostgreSQL frees the moment that connection dies.
CREATE TABLE locks (
    name        TEXT COLLATE "C" PRIMARY KEY,
    owner_id    TEXT COLLATE "C" NOT NULL,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    what        TEXT NOT NULL,
    acquired    BIGINT NOT NULL, -- Unix nanoseconds
    heartbeat   BIGINT NOT NULL, -- Unix nanoseconds
    backend_pid INTEGER NOT NULL
);
