-- Imports commit a chunk of rows at a time, so other writers are never held up behind a large
-- file; what each chunk changed is journaled, and an import that fails (or whose process stops)
-- is rolled back from the journal, so a file is still never left half imported.
--
-- `runner` is the instance running the import and `alive_until` when its claim lapses (renewed
-- with every chunk); a running import whose claim lapsed, or whose runner was a process on this
-- host that is gone, is rolled back by the next instance that looks. `written_at` is the time
-- stamp the import writes on every user; a rollback leaves alone what has changed since.
ALTER TABLE dir_imports ADD COLUMN runner TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_imports ADD COLUMN alive_until TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_imports ADD COLUMN written_at TEXT NOT NULL DEFAULT '';

CREATE TABLE dir_import_undo (
    import_id TEXT NOT NULL REFERENCES dir_imports (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('user_created', 'user_updated', 'group_created', 'member_added')),
    -- The user or group; the group of a membership.
    object_id TEXT NOT NULL,
    -- The member of a membership, else ''.
    related_id TEXT NOT NULL DEFAULT '',
    -- The user as it was before the import changed it (JSON), for user_updated.
    before TEXT,
    PRIMARY KEY (import_id, step)
);
