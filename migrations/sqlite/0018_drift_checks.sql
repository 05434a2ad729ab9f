-- Drift and orphans (#21): how often the application is compared with what Provisio manages
-- (hours; 0: only when an administrator asks), and the last comparison's figures, shown on
-- Synchronization details.
ALTER TABLE app_provisioning ADD COLUMN drift_check_hours INTEGER NOT NULL DEFAULT 0;
-- What a scheduled check does by itself (the policy): send the directory's values again to
-- managed accounts changed in the application; link accounts that match a directory user in
-- scope. Off: report only.
ALTER TABLE app_provisioning ADD COLUMN drift_revert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE app_provisioning ADD COLUMN drift_adopt INTEGER NOT NULL DEFAULT 0;
CREATE TABLE prov_drift_checks (
    app_id TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    checked_at TEXT NOT NULL,
    users_read BIGINT NOT NULL,
    groups_read BIGINT NOT NULL,
    orphans BIGINT NOT NULL,
    drifted BIGINT NOT NULL,
    missing BIGINT NOT NULL,
    error TEXT NOT NULL,
    elapsed_ms BIGINT NOT NULL
);
-- Restart (Full) while a cycle runs: the links are set aside when the next cycle starts (under
-- the job's lease), not under the running cycle.
ALTER TABLE prov_jobs ADD COLUMN full_reset_pending INTEGER NOT NULL DEFAULT 0;
