-- Console users, roles and the audit log.
-- Portable on purpose: text/integer columns, application-generated ids, UTC text timestamps.

CREATE TABLE console_users (
    id              TEXT PRIMARY KEY,
    -- Stored lower-cased: user names are case-insensitive and unique.
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('administrator', 'viewer')),
    disabled        INTEGER NOT NULL DEFAULT 0,
    -- Bumped on password reset and disable: a session carries the version it was created with
    -- and is refused once they differ, so those changes end existing sessions at once.
    session_version INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_sign_in_at TEXT
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    -- Console user name, 'cli', 'system', or the attempted name of a failed sign-in.
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL DEFAULT '',
    outcome   TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    -- A short human-readable detail; never a secret.
    detail    TEXT NOT NULL DEFAULT '',
    source_ip TEXT NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
