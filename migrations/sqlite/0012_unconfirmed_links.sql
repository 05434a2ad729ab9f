-- Restart (Full) clears the connector data store so the next initial cycle matches every user
-- again; the links it held are kept here until then. A user who left scope in the meantime has
-- no link in `prov_objects` but is still disabled (or deleted) in the target through this one;
-- a link is removed from here as soon as the engine records the user again.
CREATE TABLE prov_unconfirmed (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('user', 'group')),
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (app_id, object_type, source_id)
);
