-- The SCIM service provider: accounts, their user groups and API keys, and the users and groups
-- that identity providers provision into them. Resources are JSON documents (`doc`, the stored
-- form without id/meta/computed attributes) plus the indexed columns that filters and paging use.

CREATE TABLE scim_accounts (
    id TEXT PRIMARY KEY,            -- 22 URL-safe random characters, part of the tenant URL
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX scim_accounts_name ON scim_accounts (name_lower);

-- User groups: the built-in Account Administrators group, local groups made in the console, and
-- groups provisioned through SCIM (source 'scim', the only ones the SCIM endpoint shows). The
-- console manages every group's role; SCIM manages a SCIM group's name, externalId and members.
CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('builtin', 'local', 'scim')),
    role TEXT NOT NULL CHECK (role IN ('account_admin', 'account_viewer', 'none')),
    display_name TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    external_id TEXT,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,                -- the API key (name) that provisioned it, for SCIM groups
    last_modified TEXT NOT NULL
);
CREATE INDEX scim_groups_account ON scim_groups (account_id, source, id);
CREATE INDEX scim_groups_display_name ON scim_groups (account_id, display_name_lower);
CREATE INDEX scim_groups_external_id ON scim_groups (account_id, external_id);
CREATE INDEX scim_groups_last_modified ON scim_groups (account_id, last_modified);

CREATE TABLE scim_users (
    id TEXT PRIMARY KEY,            -- UUIDv7: creation order, the stable paging order
    account_id TEXT NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    user_name_lower TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT,
    display_name_lower TEXT,
    primary_email TEXT,
    active INTEGER,                 -- NULL when the client never said
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,                -- the API key (name) that provisioned it
    last_modified TEXT NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (account_id, user_name_lower);
CREATE INDEX scim_users_account ON scim_users (account_id, id);
CREATE INDEX scim_users_external_id ON scim_users (account_id, external_id);
CREATE INDEX scim_users_display_name ON scim_users (account_id, display_name_lower);
CREATE INDEX scim_users_last_modified ON scim_users (account_id, last_modified);
CREATE INDEX scim_users_created ON scim_users (account_id, created_at);

-- Every email value of a user, lower-cased, for indexed `emails.value eq` lookups.
CREATE TABLE scim_user_emails (
    user_id TEXT NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    value_lower TEXT NOT NULL,
    PRIMARY KEY (user_id, value_lower)
);
CREATE INDEX scim_user_emails_value ON scim_user_emails (account_id, value_lower);

-- Group members: users or (nested) groups of the same account.
CREATE TABLE scim_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    display TEXT,                   -- as the client sent it (Okta sends the userName)
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX scim_members_member ON scim_members (member_id);

CREATE TABLE scim_api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES scim_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,           -- the first characters of the key, to recognise it
    hash TEXT NOT NULL,             -- SHA-256 of the whole key, hex
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE UNIQUE INDEX scim_api_keys_hash ON scim_api_keys (hash);
CREATE INDEX scim_api_keys_account ON scim_api_keys (account_id, created_at);

-- "Permissions Inherited from": the user groups whose roles a key has.
CREATE TABLE scim_api_key_groups (
    key_id TEXT NOT NULL REFERENCES scim_api_keys (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (key_id, group_id)
);
CREATE INDEX scim_api_key_groups_group ON scim_api_key_groups (group_id);
