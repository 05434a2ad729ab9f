-- Provisioning jobs and their cycles.

-- One job per application, created the first time provisioning runs. `watermark` is the last
-- directory change (dir_changes.seq) whose effect is in the target; NULL until an initial cycle
-- completes. It moves only at the end of a cycle, after every outcome is recorded, so a crash
-- repeats work (idempotent: matching before create) and never skips it.
CREATE TABLE prov_jobs (
    app_id TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    -- Active, Paused or Quarantine (Disabled after four weeks in quarantine).
    state TEXT NOT NULL DEFAULT 'Active',
    watermark INTEGER,
    quarantine_reason TEXT NOT NULL DEFAULT '',
    quarantine_since TEXT,
    next_attempt TEXT,
    -- Set by "Allow deletes": the next cycle may exceed the accidental-deletion threshold once.
    force_deletes INTEGER NOT NULL DEFAULT 0,
    -- Set by a restart, or when the configuration changed: the next cycle is an initial cycle.
    initial_requested INTEGER NOT NULL DEFAULT 1,
    last_notified_reason TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

-- One row per cycle (Entra's task execution).
CREATE TABLE prov_cycles (
    id TEXT PRIMARY KEY,                -- the activity id
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('initial', 'incremental')),
    began_at TEXT NOT NULL,
    ended_at TEXT,
    -- Running, Succeeded, EntryLevelErrors or Failed.
    state TEXT NOT NULL DEFAULT 'Running',
    total INTEGER NOT NULL DEFAULT 0,       -- objects to evaluate (progress denominator)
    processed INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    entitled INTEGER NOT NULL DEFAULT 0,    -- in scope
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    staged INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX prov_cycles_app ON prov_cycles (app_id, began_at DESC);

-- Objects whose last operation failed after the client's own retries: retried by later cycles on
-- Entra's schedule (base period B: B, 2B, 4B after the first failure, then every 4B, dropped
-- after 112B; B is six hours unless configured).
CREATE TABLE prov_escrows (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('user', 'group')),
    source_id TEXT NOT NULL,
    first_failed_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    next_at TEXT NOT NULL,
    error_code TEXT NOT NULL DEFAULT '',
    -- Failures of reference updates (manager, group members) do not count toward quarantine's
    -- proportion thresholds.
    reference INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, object_type, source_id)
);
CREATE INDEX prov_escrows_due ON prov_escrows (app_id, next_at);
