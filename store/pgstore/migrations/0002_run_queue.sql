-- 0002: the run queue (store.RunQueue), claimed by idsync worker
-- processes with FOR UPDATE SKIP LOCKED.
CREATE TABLE run_queue (
    id           TEXT COLLATE "C" PRIMARY KEY,
    connector    TEXT COLLATE "C" NOT NULL,
    profile      TEXT NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    enqueued     BIGINT NOT NULL, -- Unix nanoseconds
    claimer_id   TEXT NOT NULL DEFAULT '',
    claimer_host TEXT NOT NULL DEFAULT '',
    claimer_pid  INTEGER NOT NULL DEFAULT 0,
    claimer_what TEXT NOT NULL DEFAULT '',
    heartbeat    BIGINT NOT NULL DEFAULT 0, -- Unix nanoseconds
    attempts     INTEGER NOT NULL DEFAULT 0,
    steps_done   INTEGER NOT NULL DEFAULT 0, -- profile steps finished by earlier attempts
    run_id       TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_queue_state ON run_queue (state, enqueued, id);
