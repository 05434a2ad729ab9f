-- The directory (the source of provisioning) and enterprise applications.
--
-- Users keep the columns that search, uniqueness and the manager chain need; every other attribute
-- (givenName, department, extensionAttribute1..15, ...) lives in `attrs`, a JSON object of the
-- non-empty values keyed by their Entra names, which is what attribute mappings read.

CREATE TABLE dir_users (
    id TEXT PRIMARY KEY,                -- objectId, a UUID
    upn TEXT NOT NULL,
    -- A soft-deleted user keeps its userPrincipalName, as in Entra, until it is purged.
    upn_lower TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    display_lower TEXT NOT NULL,
    mail TEXT,
    mail_lower TEXT,
    manager_id TEXT REFERENCES dir_users (id) ON DELETE SET NULL,
    account_enabled INTEGER NOT NULL DEFAULT 1,
    attrs TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
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
    id TEXT PRIMARY KEY,                -- objectId
    display_name TEXT NOT NULL,
    -- Unique, unlike Entra: imports and the command line name groups by display name.
    display_lower TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    mail_nickname TEXT NOT NULL DEFAULT '',
    -- Direct members, kept by the triggers below so lists never count a 10,000-member group.
    member_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Direct members: users, and groups as nested members (stored and shown, never expanded for
-- provisioning). No foreign key on member_id because it points at either table.
CREATE TABLE dir_members (
    group_id TEXT NOT NULL REFERENCES dir_groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('user', 'group')),
    added_at TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX dir_members_member ON dir_members (member_id);

CREATE TRIGGER dir_members_added AFTER INSERT ON dir_members BEGIN
    UPDATE dir_groups SET member_count = member_count + 1 WHERE id = NEW.group_id;
END;
CREATE TRIGGER dir_members_removed AFTER DELETE ON dir_members BEGIN
    UPDATE dir_groups SET member_count = member_count - 1 WHERE id = OLD.group_id;
END;

-- How many users are live and deleted, kept by triggers: the users list shows the total on
-- every page, and counting 100,000 index entries each time would be most of its render time.
CREATE TABLE dir_user_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live INTEGER NOT NULL,
    deleted INTEGER NOT NULL
);
INSERT INTO dir_user_counts (id, live, deleted) VALUES (1, 0, 0);
CREATE TRIGGER dir_users_added AFTER INSERT ON dir_users BEGIN
    UPDATE dir_user_counts SET live = live + (NEW.deleted_at IS NULL), deleted = deleted + (NEW.deleted_at IS NOT NULL);
END;
CREATE TRIGGER dir_users_removed AFTER DELETE ON dir_users BEGIN
    UPDATE dir_user_counts SET live = live - (OLD.deleted_at IS NULL), deleted = deleted - (OLD.deleted_at IS NOT NULL);
END;
CREATE TRIGGER dir_users_moved AFTER UPDATE OF deleted_at ON dir_users
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    UPDATE dir_user_counts SET live = live + (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL),
        deleted = deleted + (NEW.deleted_at IS NOT NULL) - (OLD.deleted_at IS NOT NULL);
END;

-- The change sequence: one row per change to a user, group, membership or assignment, written in
-- the transaction that made the change. Incremental provisioning reads `seq > watermark`.
CREATE TABLE dir_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type IN ('user', 'group', 'membership', 'assignment')),
    -- The user or group; the group of a membership; the application of an assignment.
    object_id TEXT NOT NULL,
    -- The member of a membership, the principal of an assignment, else ''.
    related_id TEXT NOT NULL DEFAULT '',
    op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete', 'restore', 'purge', 'add', 'remove'))
);

-- Uploaded import files waiting for the admin to confirm them after the preview.
CREATE TABLE dir_imports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('users', 'memberships')),
    file_name TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl')),
    content TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('staged', 'running', 'done', 'failed')),
    result TEXT NOT NULL DEFAULT ''
);

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,             -- gallery template id: 'harness', 'scim2'
    provisioning_status TEXT NOT NULL DEFAULT 'off' CHECK (provisioning_status IN ('off', 'on')),
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- App roles are copied from the template when the application is added, so a later template
-- change never changes the meaning of existing assignments.
CREATE TABLE app_roles (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Users with a role that is not provisioned (Harness's "Default Access") are skipped.
    provisioned INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL,
    PRIMARY KEY (app_id, value)
);

CREATE TABLE app_assignments (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
    principal_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',      -- '' when the application has no roles
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (app_id, principal_id, role)
);
CREATE INDEX app_assignments_principal ON app_assignments (principal_id);

-- Attribute mappings, copied from the template and edited per application.
CREATE TABLE app_mappings (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT NOT NULL CHECK (object IN ('user', 'group')),
    position INTEGER NOT NULL,
    target TEXT NOT NULL,               -- a SCIM path
    kind TEXT NOT NULL CHECK (kind IN ('direct', 'constant', 'expression')),
    source TEXT NOT NULL,               -- attribute name, constant or expression
    default_value TEXT NOT NULL DEFAULT '',
    matching INTEGER NOT NULL DEFAULT 0,  -- matching precedence; 0 = not used for matching
    apply_on TEXT NOT NULL DEFAULT 'always' CHECK (apply_on IN ('always', 'create')),
    PRIMARY KEY (app_id, object, target)
);

-- Whether each object mapping is on (the users mapping always is) and where it writes.
CREATE TABLE app_object_mappings (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object TEXT NOT NULL CHECK (object IN ('user', 'group')),
    enabled INTEGER NOT NULL DEFAULT 1,
    target_object TEXT NOT NULL,        -- 'User' or 'Group'
    PRIMARY KEY (app_id, object)
);
