-- What a running cycle is doing (users, references, deprovisions, groups), for its live progress.
-- NULL before the first phase begins and for cycles from before this column.
ALTER TABLE prov_cycles ADD COLUMN phase TEXT COLLATE "C";
