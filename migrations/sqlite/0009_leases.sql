-- Which instance runs each application's provisioning job. Several instances may share one
-- database: a job runs where its lease is held, the holder renews it while the cycle runs, and
-- another instance may take it once `expires_at` (UTC, the stored time format) has passed.
CREATE TABLE prov_leases (
    app_id TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,               -- the instance: host name and a per-process id
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
