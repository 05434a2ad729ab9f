-- Requests per second the engine may send to an application's SCIM endpoint (0: no limit), for
-- targets that throttle hard or share capacity with other clients.
ALTER TABLE app_provisioning ADD COLUMN max_requests_per_second INTEGER NOT NULL DEFAULT 0;
