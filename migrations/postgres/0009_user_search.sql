-- Contains-search that ignores case and accents ("fernandez" finds "Fernández"), and the
-- department filter of the users list. Folded by the server (provisio_mapping::text); rows
-- written before this version are folded when the server next starts (search_fold IS NULL).
ALTER TABLE dir_users ADD COLUMN search_fold TEXT COLLATE "C";
ALTER TABLE dir_users ADD COLUMN department_fold TEXT COLLATE "C";
CREATE INDEX dir_users_department ON dir_users (department_fold, deleted_at);
CREATE INDEX dir_users_unfolded ON dir_users (id) WHERE search_fold IS NULL;
-- The users list with a search or filters walks this index in display order and tests the
-- search text, sign-in and department on the index entries themselves: no row is read but the
-- page's own (a scan of the rows, whose attributes are wide, took half a second at 100,000).
-- (deleted_at is among its columns although the index holds live users only: without it SQLite
-- reads each row to test the condition the index already implies.)
CREATE INDEX dir_users_search ON dir_users (display_lower, id, search_fold, account_enabled, department_fold, deleted_at)
    WHERE deleted_at IS NULL;
