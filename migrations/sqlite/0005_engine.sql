-- The provisioning engine's state: the connector data store and the provisioning log.

-- What the engine knows of every object it manages in an application's target: the target id and
-- the attribute values it last exported (JSON array of {target, value}), so an update sends only
-- the difference and objects the engine never managed are never touched.
CREATE TABLE prov_objects (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('user', 'group')),
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    exported TEXT NOT NULL DEFAULT '[]',
    -- 'active' (provisioned and enabled) or 'disabled' (left scope: active=false in the target).
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app_id, object_type, source_id)
);
CREATE INDEX prov_objects_target ON prov_objects (app_id, object_type, target_id);

-- One entry per object per action (Entra's provisioning log).
CREATE TABLE prov_log (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    cycle_id TEXT,                      -- NULL for provision on demand
    at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    target_id TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,               -- Create, Update, Delete, Disable, StagedDelete, Other
    status TEXT NOT NULL,               -- Success, Failure, Skipped, Warning
    steps TEXT NOT NULL DEFAULT '[]',   -- JSON: [{name, status, description, details}]
    modified TEXT NOT NULL DEFAULT '[]',-- JSON: [{name, old, new}]
    error_code TEXT NOT NULL DEFAULT '',
    error_reason TEXT NOT NULL DEFAULT '',
    error_action TEXT NOT NULL DEFAULT ''
);
CREATE INDEX prov_log_app_at ON prov_log (app_id, at DESC, id DESC);
CREATE INDEX prov_log_at ON prov_log (at DESC, id DESC);
