-- What the engine learned about an application's SCIM endpoint by trying (its compatibility
-- profile): a form the endpoint refused and the one used instead, with why and since when. Each
-- fact belongs to the configuration version it was learned under and is forgotten when the
-- configuration changes (a new endpoint, a new token, new mappings) or on Restart (Full).
CREATE TABLE prov_adaptations (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    adaptation TEXT NOT NULL,
    reason TEXT NOT NULL,
    learned_at TEXT NOT NULL,
    config_version BIGINT NOT NULL,
    PRIMARY KEY (app_id, adaptation)
);
