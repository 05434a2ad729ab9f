-- Restart requests (Restart provisioning, Allow deletes, a new initial cycle) counted, so a cycle
-- that ends after one arrived neither clears it nor moves the watermark past it.
ALTER TABLE prov_jobs ADD COLUMN requests BIGINT NOT NULL DEFAULT 0;
