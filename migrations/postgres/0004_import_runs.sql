-- Imports commit a chunk of rows at a time, so other writers are never held up behind a large
-- file; what each chunk changed is journaled, and an import that fails (or whose process stops)
-- is rolled back from the journal, so a file is still never left half imported.
--
-- `runner` is the instance running the import and `alive_until` when its claim lapses (renewed
-- with every chunk); a running import whose claim lapsed, or whose runner was a process on this
-- host that is gone, is rolled back by the next instance that looks. `written_at` is the time
-- stamp the import writes on every user; a rollback leaves alone what has changed since.
ALTER TABLE dir_imports ADD COLUMN runner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE dir_imports ADD COLUMN alive_until TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE dir_imports ADD COLUMN written_at TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE dir_import_undo (
    import_id TEXT COLLATE "C" NOT NULL REFERENCES dir_imports (id) ON DELETE CASCADE,
    step BIGINT NOT NULL,
    action TEXT COLLATE "C" NOT NULL CHECK (action IN ('user_created', 'user_updated', 'group_created', 'member_added')),
    object_id TEXT COLLATE "C" NOT NULL,
    related_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    before TEXT COLLATE "C",
    PRIMARY KEY (import_id, step)
);
