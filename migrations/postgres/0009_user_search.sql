-- Contains-search that ignores case and accents ("fernandez" finds "Fernández"), and the
-- department filter of the users list. Folded by the server (provisio_mapping::text); rows
-- written before this version are folded when the server next starts (search_fold IS NULL).
ALTER TABLE dir_users ADD COLUMN search_fold TEXT COLLATE "C";
ALTER TABLE dir_users ADD COLUMN department_fold TEXT COLLATE "C";
CREATE INDEX dir_users_department ON dir_users (department_fold, deleted_at);
CREATE INDEX dir_users_unfolded ON dir_users (id) WHERE search_fold IS NULL;
