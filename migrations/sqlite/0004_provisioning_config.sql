-- The provisioning configuration of an application: credentials, settings, mapping type None,
-- target object actions and scoping filters.

-- One row per application. The secret token is sealed (AES-256-GCM, see src/secrets.rs) and never
-- leaves the server. `config_version` goes up when mappings or scoping filters change; the engine
-- runs an initial cycle whenever it is ahead of `initial_cycle_version`.
CREATE TABLE app_provisioning (
    app_id TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    mode TEXT NOT NULL DEFAULT 'manual' CHECK (mode IN ('manual', 'automatic')),
    tenant_url TEXT NOT NULL DEFAULT '',
    secret_token TEXT,
    notification_email TEXT NOT NULL DEFAULT '',
    notify_on_failure INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL DEFAULT 'assigned' CHECK (scope IN ('assigned', 'all')),
    prevent_deletions INTEGER NOT NULL DEFAULT 1,
    deletion_threshold INTEGER NOT NULL DEFAULT 500,
    skip_out_of_scope_deletions INTEGER NOT NULL DEFAULT 0,
    interval_minutes INTEGER NOT NULL DEFAULT 40,
    config_version INTEGER NOT NULL DEFAULT 1,
    initial_cycle_version INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
INSERT INTO app_provisioning (app_id, updated_at) SELECT id, updated_at FROM apps;

-- Mapping type None (the target attribute is listed but nothing flows to it) joins the others;
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt.
CREATE TABLE app_mappings_v2 (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT NOT NULL CHECK (object IN ('user', 'group')),
    position INTEGER NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('direct', 'constant', 'expression', 'none')),
    source TEXT NOT NULL,
    default_value TEXT NOT NULL DEFAULT '',
    matching INTEGER NOT NULL DEFAULT 0,
    apply_on TEXT NOT NULL DEFAULT 'always' CHECK (apply_on IN ('always', 'create')),
    PRIMARY KEY (app_id, object, target)
);
INSERT INTO app_mappings_v2 (app_id, object, position, target, kind, source, default_value, matching, apply_on)
    SELECT app_id, object, position, target, kind, source, default_value, matching, apply_on FROM app_mappings;
DROP TABLE app_mappings;
ALTER TABLE app_mappings_v2 RENAME TO app_mappings;

-- Target object actions: each of Create, Update and Delete can be switched off per mapping.
ALTER TABLE app_object_mappings ADD COLUMN action_create INTEGER NOT NULL DEFAULT 1;
ALTER TABLE app_object_mappings ADD COLUMN action_update INTEGER NOT NULL DEFAULT 1;
ALTER TABLE app_object_mappings ADD COLUMN action_delete INTEGER NOT NULL DEFAULT 1;

-- Scoping filters: clauses of one filter are ANDed, filters are ORed.
CREATE TABLE app_scoping_clauses (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT NOT NULL CHECK (object IN ('user', 'group')),
    filter_no INTEGER NOT NULL,
    filter_title TEXT NOT NULL DEFAULT '',
    clause_no INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    operator TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (app_id, object, filter_no, clause_no)
);
