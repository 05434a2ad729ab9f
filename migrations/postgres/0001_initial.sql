-- The whole schema for PostgreSQL, equal to migrations/sqlite/0001-0008 applied in order (PostgreSQL
-- support began after them, so it starts from their end state). Later changes come as a migration
-- in each directory. Differences from SQLite: BIGINT for INTEGER, identity columns for
-- AUTOINCREMENT, PL/pgSQL trigger functions, and text columns collated "C" so that ordering and
-- comparisons are byte order, as in SQLite, whatever the database's locale.

-- ==== from 0001_console.sql
-- Console users, roles and the audit log.
-- Portable on purpose: text/integer columns, application-generated ids, UTC text timestamps.

CREATE TABLE console_users (
    id              TEXT COLLATE "C" PRIMARY KEY,
    -- Stored lower-cased: user names are case-insensitive and unique.
    username        TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash   TEXT COLLATE "C" NOT NULL,
    role            TEXT COLLATE "C" NOT NULL CHECK (role IN ('administrator', 'viewer')),
    disabled        BIGINT NOT NULL DEFAULT 0,
    -- Bumped on password reset and disable: a session carries the version it was created with
    -- and is refused once they differ, so those changes end existing sessions at once.
    session_version BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    last_sign_in_at TEXT COLLATE "C"
);

CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        TEXT COLLATE "C" NOT NULL,
    -- Console user name, 'cli', 'system', or the attempted name of a failed sign-in.
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    target    TEXT COLLATE "C" NOT NULL DEFAULT '',
    outcome   TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('success', 'failure')),
    -- A short human-readable detail; never a secret.
    detail    TEXT COLLATE "C" NOT NULL DEFAULT '',
    source_ip TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

-- ==== from 0002_scim.sql
-- The SCIM service provider: accounts, their user groups and API keys, and the users and groups
-- that identity providers provision into them. Resources are JSON documents (`doc`, the stored
-- form without id/meta/computed attributes) plus the indexed columns that filters and paging use.

CREATE TABLE scim_accounts (
    id TEXT COLLATE "C" PRIMARY KEY,            -- 22 URL-safe random characters, part of the tenant URL
    name TEXT COLLATE "C" NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX scim_accounts_name ON scim_accounts (name_lower);

-- User groups: the built-in Account Administrators group, local groups made in the console, and
-- groups provisioned through SCIM (source 'scim', the only ones the SCIM endpoint shows). The
-- console manages every group's role; SCIM manages a SCIM group's name, externalId and members.
CREATE TABLE scim_groups (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    source TEXT COLLATE "C" NOT NULL CHECK (source IN ('builtin', 'local', 'scim')),
    role TEXT COLLATE "C" NOT NULL CHECK (role IN ('account_admin', 'account_viewer', 'none')),
    display_name TEXT COLLATE "C" NOT NULL,
    display_name_lower TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    doc TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C",                -- the API key (name) that provisioned it, for SCIM groups
    last_modified TEXT COLLATE "C" NOT NULL
);
CREATE INDEX scim_groups_account ON scim_groups (account_id, source, id);
CREATE INDEX scim_groups_display_name ON scim_groups (account_id, display_name_lower);
CREATE INDEX scim_groups_external_id ON scim_groups (account_id, external_id);
CREATE INDEX scim_groups_last_modified ON scim_groups (account_id, last_modified);

CREATE TABLE scim_users (
    id TEXT COLLATE "C" PRIMARY KEY,            -- UUIDv7: creation order, the stable paging order
    account_id TEXT COLLATE "C" NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    user_name TEXT COLLATE "C" NOT NULL,
    user_name_lower TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    display_name_lower TEXT COLLATE "C",
    primary_email TEXT COLLATE "C",
    active BIGINT,                 -- NULL when the client never said
    doc TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C",                -- the API key (name) that provisioned it
    last_modified TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (account_id, user_name_lower);
CREATE INDEX scim_users_account ON scim_users (account_id, id);
CREATE INDEX scim_users_external_id ON scim_users (account_id, external_id);
CREATE INDEX scim_users_display_name ON scim_users (account_id, display_name_lower);
CREATE INDEX scim_users_last_modified ON scim_users (account_id, last_modified);
CREATE INDEX scim_users_created ON scim_users (account_id, created_at);

-- Every email value of a user, lower-cased, for indexed `emails.value eq` lookups.
CREATE TABLE scim_user_emails (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL,
    value_lower TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, value_lower)
);
CREATE INDEX scim_user_emails_value ON scim_user_emails (account_id, value_lower);

-- Group members: users or (nested) groups of the same account.
CREATE TABLE scim_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    member_id TEXT COLLATE "C" NOT NULL,
    member_type TEXT COLLATE "C" NOT NULL CHECK (member_type IN ('User', 'Group')),
    display TEXT COLLATE "C",                   -- as the client sent it (Okta sends the userName)
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX scim_members_member ON scim_members (member_id);

CREATE TABLE scim_api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    prefix TEXT COLLATE "C" NOT NULL,           -- the first characters of the key, to recognise it
    hash TEXT COLLATE "C" NOT NULL,             -- SHA-256 of the whole key, hex
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C",
    revoked_at TEXT COLLATE "C",
    last_used_at TEXT COLLATE "C"
);
CREATE UNIQUE INDEX scim_api_keys_hash ON scim_api_keys (hash);
CREATE INDEX scim_api_keys_account ON scim_api_keys (account_id, created_at);

-- "Permissions Inherited from": the user groups whose roles a key has.
CREATE TABLE scim_api_key_groups (
    key_id TEXT COLLATE "C" NOT NULL REFERENCES scim_api_keys (id) ON DELETE CASCADE,
    group_id TEXT COLLATE "C" NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, group_id)
);
CREATE INDEX scim_api_key_groups_group ON scim_api_key_groups (group_id);

-- ==== from 0003_directory.sql
-- The directory (the source of provisioning) and enterprise applications.
--
-- Users keep the columns that search, uniqueness and the manager chain need; every other attribute
-- (givenName, department, extensionAttribute1..15, ...) lives in `attrs`, a JSON object of the
-- non-empty values keyed by their Entra names, which is what attribute mappings read.

CREATE TABLE dir_users (
    id TEXT COLLATE "C" PRIMARY KEY,                -- objectId, a UUID
    upn TEXT COLLATE "C" NOT NULL,
    -- A soft-deleted user keeps its userPrincipalName, as in Entra, until it is purged.
    upn_lower TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name TEXT COLLATE "C" NOT NULL,
    display_lower TEXT COLLATE "C" NOT NULL,
    mail TEXT COLLATE "C",
    mail_lower TEXT COLLATE "C",
    manager_id TEXT COLLATE "C" REFERENCES dir_users (id) ON DELETE SET NULL,
    account_enabled BIGINT NOT NULL DEFAULT 1,
    attrs TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    deleted_at TEXT COLLATE "C"
);
-- The users list is ordered by display name and searched by prefix of the display name, UPN or
-- mail. Partial indexes over live users let each of those be an index range, with the display
-- name and id inside every index so a search sorts and pages without reading rows; deleted users
-- are few and have their own.
CREATE INDEX dir_users_live ON dir_users (display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX dir_users_upn_live ON dir_users (upn_lower, display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX dir_users_mail_live ON dir_users (mail_lower, display_lower, id) WHERE deleted_at IS NULL;
CREATE INDEX dir_users_gone ON dir_users (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX dir_users_manager ON dir_users (manager_id);

CREATE TABLE dir_groups (
    id TEXT COLLATE "C" PRIMARY KEY,                -- objectId
    display_name TEXT COLLATE "C" NOT NULL,
    -- Unique, unlike Entra: imports and the command line name groups by display name.
    display_lower TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    mail_nickname TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- Direct members, kept by the triggers below so lists never count a 10,000-member group.
    member_count BIGINT NOT NULL DEFAULT 0,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

-- Direct members: users, and groups as nested members (stored and shown, never expanded for
-- provisioning). No foreign key on member_id because it points at either table.
CREATE TABLE dir_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES dir_groups (id) ON DELETE CASCADE,
    member_id TEXT COLLATE "C" NOT NULL,
    member_type TEXT COLLATE "C" NOT NULL CHECK (member_type IN ('user', 'group')),
    added_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX dir_members_member ON dir_members (member_id);

-- Once per statement, from the statement's rows (transition tables): a row trigger updates a
-- large group's row once per member, and inside one transaction (an import) each such update
-- walks the row's growing chain of versions, which made imports quadratic on PostgreSQL.
CREATE FUNCTION dir_members_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dir_groups g SET member_count = g.member_count + d.n
    FROM (SELECT group_id, count(*) AS n FROM added GROUP BY group_id) d WHERE g.id = d.group_id;
    RETURN NULL;
END $$;
CREATE FUNCTION dir_members_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dir_groups g SET member_count = g.member_count - d.n
    FROM (SELECT group_id, count(*) AS n FROM removed GROUP BY group_id) d WHERE g.id = d.group_id;
    RETURN NULL;
END $$;
CREATE TRIGGER dir_members_added AFTER INSERT ON dir_members REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION dir_members_added();
CREATE TRIGGER dir_members_removed AFTER DELETE ON dir_members REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION dir_members_removed();

-- How many users are live and deleted. SQLite keeps them in a row updated by triggers (counting
-- 100,000 index entries for every users page would be most of its render time); on PostgreSQL
-- that row, updated for every user an import writes in its one transaction, made imports
-- quadratic (each update walks the row's chain of versions), and counting is fast: a view.
CREATE VIEW dir_user_counts AS
    SELECT CAST(1 AS BIGINT) AS id,
           count(*) FILTER (WHERE deleted_at IS NULL) AS live,
           count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted
    FROM dir_users;

-- The change sequence: one row per change to a user, group, membership or assignment, written in
-- the transaction that made the change. Incremental provisioning reads `seq > watermark`.
CREATE TABLE dir_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL CHECK (object_type IN ('user', 'group', 'membership', 'assignment')),
    -- The user or group; the group of a membership; the application of an assignment.
    object_id TEXT COLLATE "C" NOT NULL,
    -- The member of a membership, the principal of an assignment, else ''.
    related_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    op TEXT COLLATE "C" NOT NULL CHECK (op IN ('create', 'update', 'delete', 'restore', 'purge', 'add', 'remove'))
);

-- Uploaded import files waiting for the admin to confirm them after the preview.
CREATE TABLE dir_imports (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('users', 'memberships')),
    file_name TEXT COLLATE "C" NOT NULL,
    format TEXT COLLATE "C" NOT NULL CHECK (format IN ('csv', 'jsonl')),
    content TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL CHECK (status IN ('staged', 'running', 'done', 'failed')),
    result TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE apps (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    name_lower TEXT COLLATE "C" NOT NULL UNIQUE,
    template TEXT COLLATE "C" NOT NULL,             -- gallery template id: 'harness', 'scim2'
    provisioning_status TEXT COLLATE "C" NOT NULL DEFAULT 'off' CHECK (provisioning_status IN ('off', 'on')),
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

-- App roles are copied from the template when the application is added, so a later template
-- change never changes the meaning of existing assignments.
CREATE TABLE app_roles (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    value TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- Users with a role that is not provisioned (Harness's "Default Access") are skipped.
    provisioned BIGINT NOT NULL DEFAULT 1,
    position BIGINT NOT NULL,
    PRIMARY KEY (app_id, value)
);

CREATE TABLE app_assignments (
    id TEXT COLLATE "C" PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    principal_type TEXT COLLATE "C" NOT NULL CHECK (principal_type IN ('user', 'group')),
    principal_id TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL DEFAULT '',      -- '' when the application has no roles
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    UNIQUE (app_id, principal_id, role)
);
CREATE INDEX app_assignments_principal ON app_assignments (principal_id);

-- Attribute mappings, copied from the template and edited per application.
CREATE TABLE app_mappings (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT COLLATE "C" NOT NULL CHECK (object IN ('user', 'group')),
    position BIGINT NOT NULL,
    target TEXT COLLATE "C" NOT NULL,               -- a SCIM path
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('direct', 'constant', 'expression', 'none')),
    source TEXT COLLATE "C" NOT NULL,               -- attribute name, constant or expression
    default_value TEXT COLLATE "C" NOT NULL DEFAULT '',
    matching BIGINT NOT NULL DEFAULT 0,  -- matching precedence; 0 = not used for matching
    apply_on TEXT COLLATE "C" NOT NULL DEFAULT 'always' CHECK (apply_on IN ('always', 'create')),
    PRIMARY KEY (app_id, object, target)
);

-- Whether each object mapping is on (the users mapping always is) and where it writes.
CREATE TABLE app_object_mappings (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT COLLATE "C" NOT NULL CHECK (object IN ('user', 'group')),
    enabled BIGINT NOT NULL DEFAULT 1,
    target_object TEXT COLLATE "C" NOT NULL,        -- 'User' or 'Group'
    PRIMARY KEY (app_id, object)
);

-- ==== from 0004_provisioning_config.sql
-- The provisioning configuration of an application: credentials, settings, mapping type None,
-- target object actions and scoping filters.

-- One row per application. The secret token is sealed (AES-256-GCM, see src/secrets.rs) and never
-- leaves the server. `config_version` goes up when mappings or scoping filters change; the engine
-- runs an initial cycle whenever it is ahead of `initial_cycle_version`.
CREATE TABLE app_provisioning (
    app_id TEXT COLLATE "C" PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    mode TEXT COLLATE "C" NOT NULL DEFAULT 'manual' CHECK (mode IN ('manual', 'automatic')),
    tenant_url TEXT COLLATE "C" NOT NULL DEFAULT '',
    secret_token TEXT COLLATE "C",
    notification_email TEXT COLLATE "C" NOT NULL DEFAULT '',
    notify_on_failure BIGINT NOT NULL DEFAULT 0,
    scope TEXT COLLATE "C" NOT NULL DEFAULT 'assigned' CHECK (scope IN ('assigned', 'all')),
    prevent_deletions BIGINT NOT NULL DEFAULT 1,
    deletion_threshold BIGINT NOT NULL DEFAULT 500,
    skip_out_of_scope_deletions BIGINT NOT NULL DEFAULT 0,
    interval_minutes BIGINT NOT NULL DEFAULT 40,
    config_version BIGINT NOT NULL DEFAULT 1,
    initial_cycle_version BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT COLLATE "C" NOT NULL
);



-- Target object actions: each of Create, Update and Delete can be switched off per mapping.
ALTER TABLE app_object_mappings ADD COLUMN action_create BIGINT NOT NULL DEFAULT 1;
ALTER TABLE app_object_mappings ADD COLUMN action_update BIGINT NOT NULL DEFAULT 1;
ALTER TABLE app_object_mappings ADD COLUMN action_delete BIGINT NOT NULL DEFAULT 1;

-- Scoping filters: clauses of one filter are ANDed, filters are ORed.
CREATE TABLE app_scoping_clauses (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT COLLATE "C" NOT NULL CHECK (object IN ('user', 'group')),
    filter_no BIGINT NOT NULL,
    filter_title TEXT COLLATE "C" NOT NULL DEFAULT '',
    clause_no BIGINT NOT NULL,
    attribute TEXT COLLATE "C" NOT NULL,
    operator TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (app_id, object, filter_no, clause_no)
);

-- ==== from 0005_engine.sql
-- The provisioning engine's state: the connector data store and the provisioning log.

-- What the engine knows of every object it manages in an application's target: the target id and
-- the attribute values it last exported (JSON array of {target, value}), so an update sends only
-- the difference and objects the engine never managed are never touched.
CREATE TABLE prov_objects (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object_type TEXT COLLATE "C" NOT NULL CHECK (object_type IN ('user', 'group')),
    source_id TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    exported TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    -- 'active' (provisioned and enabled) or 'disabled' (left scope: active=false in the target).
    state TEXT COLLATE "C" NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    updated_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (app_id, object_type, source_id)
);
CREATE INDEX prov_objects_target ON prov_objects (app_id, object_type, target_id);

-- One entry per object per action (Entra's provisioning log).
CREATE TABLE prov_log (
    id TEXT COLLATE "C" PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    cycle_id TEXT COLLATE "C",                      -- NULL for provision on demand
    at TEXT COLLATE "C" NOT NULL,
    duration_ms BIGINT NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,
    source_id TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    action TEXT COLLATE "C" NOT NULL,               -- Create, Update, Delete, Disable, StagedDelete, Other
    status TEXT COLLATE "C" NOT NULL,               -- Success, Failure, Skipped, Warning
    steps TEXT COLLATE "C" NOT NULL DEFAULT '[]',   -- JSON: [{name, status, description, details}]
    modified TEXT COLLATE "C" NOT NULL DEFAULT '[]',-- JSON: [{name, old, new}]
    error_code TEXT COLLATE "C" NOT NULL DEFAULT '',
    error_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    error_action TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX prov_log_app_at ON prov_log (app_id, at DESC, id DESC);
CREATE INDEX prov_log_at ON prov_log (at DESC, id DESC);

-- ==== from 0006_cycles.sql
-- Provisioning jobs and their cycles.

-- One job per application, created the first time provisioning runs. `watermark` is the last
-- directory change (dir_changes.seq) whose effect is in the target; NULL until an initial cycle
-- completes. It moves only at the end of a cycle, after every outcome is recorded, so a crash
-- repeats work (idempotent: matching before create) and never skips it.
CREATE TABLE prov_jobs (
    app_id TEXT COLLATE "C" PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    job_id TEXT COLLATE "C" NOT NULL,
    -- Active, Paused or Quarantine (Disabled after four weeks in quarantine).
    state TEXT COLLATE "C" NOT NULL DEFAULT 'Active',
    watermark BIGINT,
    quarantine_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    quarantine_since TEXT COLLATE "C",
    next_attempt TEXT COLLATE "C",
    -- Set by "Allow deletes": the next cycle may exceed the accidental-deletion threshold once.
    force_deletes BIGINT NOT NULL DEFAULT 0,
    -- Set by a restart, or when the configuration changed: the next cycle is an initial cycle.
    initial_requested BIGINT NOT NULL DEFAULT 1,
    last_notified_reason TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated_at TEXT COLLATE "C" NOT NULL
);

-- One row per cycle (Entra's task execution).
CREATE TABLE prov_cycles (
    id TEXT COLLATE "C" PRIMARY KEY,                -- the activity id
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('initial', 'incremental')),
    began_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    -- Running, Succeeded, EntryLevelErrors or Failed.
    state TEXT COLLATE "C" NOT NULL DEFAULT 'Running',
    total BIGINT NOT NULL DEFAULT 0,       -- objects to evaluate (progress denominator)
    processed BIGINT NOT NULL DEFAULT 0,
    imported BIGINT NOT NULL DEFAULT 0,
    entitled BIGINT NOT NULL DEFAULT 0,    -- in scope
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    staged BIGINT NOT NULL DEFAULT 0,
    error TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX prov_cycles_app ON prov_cycles (app_id, began_at DESC);

-- Objects whose last operation failed after the client's own retries: retried by later cycles on
-- Entra's schedule (base period B: B, 2B, 4B after the first failure, then every 4B, dropped
-- after 112B; B is six hours unless configured).
CREATE TABLE prov_escrows (
    app_id TEXT COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object_type TEXT COLLATE "C" NOT NULL CHECK (object_type IN ('user', 'group')),
    source_id TEXT COLLATE "C" NOT NULL,
    first_failed_at TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 1,
    next_at TEXT COLLATE "C" NOT NULL,
    error_code TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- Failures of reference updates (manager, group members) do not count toward quarantine's
    -- proportion thresholds.
    reference BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, object_type, source_id)
);
CREATE INDEX prov_escrows_due ON prov_escrows (app_id, next_at);

-- ==== from 0007_notifications.sql
-- Failure emails: the SMTP server they go through and an outbox, so a failing SMTP server delays
-- an email and never loses it.

CREATE TABLE smtp_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    host TEXT COLLATE "C" NOT NULL,
    port BIGINT NOT NULL,
    -- 'none' (plain, for a local relay), 'starttls' (587) or 'tls' (implicit TLS, 465).
    tls TEXT COLLATE "C" NOT NULL CHECK (tls IN ('none', 'starttls', 'tls')),
    username TEXT COLLATE "C" NOT NULL DEFAULT '',
    -- Sealed like applications' secret tokens (src/secrets.rs); never sent back to a browser.
    password TEXT COLLATE "C",
    from_address TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE email_outbox (
    id TEXT COLLATE "C" PRIMARY KEY,
    to_address TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at TEXT COLLATE "C" NOT NULL,
    last_error TEXT COLLATE "C" NOT NULL DEFAULT '',
    sent_at TEXT COLLATE "C"
);
CREATE INDEX email_outbox_due ON email_outbox (next_at) WHERE sent_at IS NULL;

-- ==== from 0008_rate_limit.sql
-- Requests per second the engine may send to an application's SCIM endpoint (0: no limit), for
-- targets that throttle hard or share capacity with other clients.
ALTER TABLE app_provisioning ADD COLUMN max_requests_per_second BIGINT NOT NULL DEFAULT 0;

-- Console sessions (tower-sessions' PostgreSQL store, which would create this table itself; made
-- here so that instances starting together do not race to create it).
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
