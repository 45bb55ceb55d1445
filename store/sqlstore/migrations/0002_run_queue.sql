-- 0002: the run queue (store.RunQueue), for idsync worker processes.
CREATE TABLE run_queue (
    id           TEXT PRIMARY KEY,
    connector    TEXT NOT NULL,
    profile      TEXT NOT NULL,
    state        TEXT NOT NULL,
    enqueued     INTEGER NOT NULL, -- Unix nanoseconds
    claimer_id   TEXT NOT NULL DEFAULT '',
    claimer_host TEXT NOT NULL DEFAULT '',
    claimer_pid  INTEGER NOT NULL DEFAULT 0,
    claimer_what TEXT NOT NULL DEFAULT '',
    heartbeat    INTEGER NOT NULL DEFAULT 0, -- Unix nanoseconds
    attempts     INTEGER NOT NULL DEFAULT 0,
    steps_done   INTEGER NOT NULL DEFAULT 0, -- profile steps finished by earlier attempts
    run_id       TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_queue_state ON run_queue (state, enqueued, id);
