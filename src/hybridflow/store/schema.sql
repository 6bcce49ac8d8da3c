-- hybridflow state database, schema version 6 (PRAGMA user_version)
CREATE TABLE IF NOT EXISTS workflows (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    spec             TEXT NOT NULL,            -- JSON: colors, hosts, options, source, base_dir
    state            TEXT NOT NULL DEFAULT 'defined',
    run_dir          TEXT,
    generation       INTEGER NOT NULL DEFAULT 0, -- bumped when jobs or edges change
    created          REAL NOT NULL,
    modified         REAL NOT NULL,
    t0               REAL,                     -- run started
    t1               REAL,                     -- run ended
    cancel_requested INTEGER NOT NULL DEFAULT 0, -- 1: the whole run, 2: the jobs marked
    lock_pid         INTEGER,
    lock_ctime       REAL,                     -- process start time, guards against PID reuse
    lock_host        TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    spec        TEXT NOT NULL,                 -- JSON of the node
    state       TEXT NOT NULL DEFAULT 'ready',
    progress    INTEGER NOT NULL DEFAULT 0,
    message     TEXT,
    attempt     INTEGER NOT NULL DEFAULT 0,    -- latest attempt (its row has exit code and times)
    created     REAL NOT NULL,
    modified    REAL NOT NULL,
    fingerprint TEXT,                          -- hash of spec, script and parents when it last succeeded
    cancel_requested INTEGER NOT NULL DEFAULT 0, -- this job only (workflows.cancel_requested = 2)
    PRIMARY KEY (workflow_id, name)
);
CREATE TABLE IF NOT EXISTS edges (
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    parent      TEXT NOT NULL,
    child       TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, parent, child)
);
CREATE TABLE IF NOT EXISTS attempts (
    id          INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    job         TEXT NOT NULL,
    number      INTEGER NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    host        TEXT NOT NULL,
    workdir     TEXT NOT NULL,
    stem        TEXT NOT NULL,
    native_id   TEXT,                          -- pid:ctime, Slurm job id... once known
    state       TEXT NOT NULL,
    exit_code   INTEGER,
    log_offset  INTEGER NOT NULL DEFAULT 0,
    created     REAL NOT NULL,
    started     REAL,
    ended       REAL,
    message     TEXT,
    usage       TEXT                           -- JSON (hybridflow.usage.Usage) of a finished batch attempt
);
CREATE INDEX IF NOT EXISTS attempts_by_job ON attempts (workflow_id, job, number);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    job         TEXT,
    ts          REAL NOT NULL,
    kind        TEXT NOT NULL,                 -- state | progress | workflow
    state       TEXT,
    progress    INTEGER,
    message     TEXT
);
CREATE INDEX IF NOT EXISTS events_by_workflow ON events (workflow_id, id);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,              -- 1, 2, ... per workflow
    started     REAL NOT NULL,
    ended       REAL,
    state       TEXT NOT NULL,                 -- running until it ends (interrupted: read from the lock)
    started_by  TEXT NOT NULL,                 -- user@host and origin (cli, service)
    pid         INTEGER,                       -- the coordinator's
    options     TEXT NOT NULL DEFAULT '{}',    -- JSON: rerun mode, from jobs
    counts      TEXT NOT NULL DEFAULT '{}',    -- JSON: jobs per state when it ended
    UNIQUE (workflow_id, number)
);
