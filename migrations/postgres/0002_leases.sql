-- Which instance runs each application's provisioning job. Several instances may share one
-- database: a job runs where its lease is held, the holder renews it while the cycle runs, and
-- another instance may take it once `expires_at` (UTC, the stored time format) has passed.
CREATE TABLE prov_leases (
    app_id TEXT COLLATE "C" PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    holder TEXT COLLATE "C" NOT NULL,
    acquired_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);

-- Wake-ups: a change that can make a provisioning job due (the directory's change sequence, an
-- application's configuration or provisioning status, a job's state) notifies every instance
-- listening on `provisio_wake`, so the one running the job looks at once. Notifications with the
-- same payload in one transaction are delivered once.
CREATE FUNCTION provisio_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provisio_wake', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER dir_changes_wake AFTER INSERT ON dir_changes
    FOR EACH STATEMENT EXECUTE FUNCTION provisio_wake();
CREATE TRIGGER apps_wake AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION provisio_wake();
CREATE TRIGGER app_provisioning_wake AFTER INSERT OR UPDATE ON app_provisioning
    FOR EACH STATEMENT EXECUTE FUNCTION provisio_wake();
CREATE TRIGGER prov_jobs_wake AFTER UPDATE ON prov_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION provisio_wake();
CREATE TRIGGER prov_leases_wake AFTER DELETE ON prov_leases
    FOR EACH STATEMENT EXECUTE FUNCTION provisio_wake();
