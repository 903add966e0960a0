-- Issue 15: each seal placement of a request is one stamp, one usage record (its own record_id),
-- so a request may have several records, one per placement (0 for the single page/x/y form and
-- for every record older than this). request_status keeps the first record's id.
ALTER TABLE usage_records ADD COLUMN IF NOT EXISTS placement_index integer NOT NULL DEFAULT 0;
ALTER TABLE usage_records DROP CONSTRAINT IF EXISTS usage_records_request_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS usage_records_by_placement
    ON usage_records (request_id, placement_index);
