-- What the admin chose for an application's adaptations (part of its configuration, exported and
-- applied with it): `always` uses the other form from the first request, `never` keeps to the
-- standard one. An adaptation without a row is learned by trying (`auto`).
CREATE TABLE prov_adaptation_rules (
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    adaptation TEXT NOT NULL,
    choice TEXT NOT NULL,
    PRIMARY KEY (app_id, adaptation)
);
