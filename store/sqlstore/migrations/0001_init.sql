-- 0001: the initial schema. Written in SQLite's dialect; PostgreSQL gets
-- a parallel file with BYTEA for BLOB and BIGINT for INTEGER.

-- meta holds store-wide settings: the declared value indexes.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- cs holds connector-space objects. The columns are what lookups and
-- filters need; data is the rest of the object (store.EncodeCSData).
CREATE TABLE cs (
    id             TEXT PRIMARY KEY,
    connector      TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    part           TEXT NOT NULL,
    anchor         TEXT,             -- NULL: export object not yet confirmed, placeholder
    dn             TEXT NOT NULL,
    dn_norm        TEXT NOT NULL,    -- strings.ToLower(dn)
    mv_id          TEXT,             -- NULL: disjoined
    pending_import INTEGER NOT NULL, -- idsync.ImportType
    has_export     INTEGER NOT NULL, -- 1 when a pending export is staged, 2 when it is a delete
    import_gen     INTEGER NOT NULL,
    obsolete       INTEGER NOT NULL, -- 1 for an obsolete object (§3 step 2)
    version        INTEGER NOT NULL DEFAULT 1, -- counts writes (CSObject.Version)
    data           BLOB NOT NULL
);
CREATE UNIQUE INDEX cs_anchor ON cs (connector, anchor) WHERE anchor IS NOT NULL;
CREATE INDEX cs_connector ON cs (connector, id);
CREATE INDEX cs_dn ON cs (connector, dn_norm);
CREATE INDEX cs_mv ON cs (mv_id) WHERE mv_id IS NOT NULL;
CREATE INDEX cs_pending_import ON cs (connector, id) WHERE pending_import <> 0;
CREATE INDEX cs_pending_export ON cs (connector, id) WHERE has_export <> 0;

-- cs_index holds one row per value of each CS attribute declared by
-- SetIndexes for the object's connector.
CREATE TABLE cs_index (
    connector TEXT NOT NULL,
    attr      TEXT NOT NULL,
    fold      TEXT NOT NULL, -- strings.ToLower(value)
    value     TEXT NOT NULL, -- idsync.Value.String()
    cs_id     TEXT NOT NULL
);
CREATE INDEX cs_index_value ON cs_index (connector, attr, fold);
CREATE INDEX cs_index_object ON cs_index (cs_id);

-- mv holds metaverse objects; data is store.EncodeMVData.
CREATE TABLE mv (
    id          TEXT PRIMARY KEY,
    object_type TEXT NOT NULL,
    data        BLOB NOT NULL
);
CREATE INDEX mv_type ON mv (object_type, id);

CREATE TABLE mv_index (
    attr        TEXT NOT NULL,
    fold        TEXT NOT NULL,
    value       TEXT NOT NULL,
    object_type TEXT NOT NULL,
    mv_id       TEXT NOT NULL
);
CREATE INDEX mv_index_value ON mv_index (attr, fold);
CREATE INDEX mv_index_object ON mv_index (mv_id);

CREATE TABLE watermarks (
    connector TEXT NOT NULL,
    part      TEXT NOT NULL,
    value     BLOB NOT NULL,
    PRIMARY KEY (connector, part)
);

CREATE TABLE seqs (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- runs holds run records; data is the JSON of idsync.RunResult without
-- its errors, which run_errors holds in append order.
CREATE TABLE runs (
    id        TEXT PRIMARY KEY,
    connector TEXT NOT NULL,
    status    TEXT NOT NULL,
    started   INTEGER NOT NULL, -- Unix nanoseconds
    data      BLOB NOT NULL
);
CREATE INDEX runs_started ON runs (started, id);

CREATE TABLE run_errors (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE locks (
    name      TEXT PRIMARY KEY,
    owner_id  TEXT NOT NULL,
    host      TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    what      TEXT NOT NULL,
    acquired  INTEGER NOT NULL, -- Unix nanoseconds
    heartbeat INTEGER NOT NULL  -- Unix nanoseconds
);
