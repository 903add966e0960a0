-- Issue 15, batch callbacks: a relying system may give a batch a callback_url; it is called
-- once the batch is finished (every document stamped or failed: stamp_batch.finished) or has
-- expired unstamped (stamp_batch.expired, noted in expired_at so the sweeper says it once).
-- A batch's callbacks share the request callbacks' outbox, naming the batch instead.
ALTER TABLE stamp_batches ADD COLUMN IF NOT EXISTS callback_url text;
ALTER TABLE stamp_batches ADD COLUMN IF NOT EXISTS expired_at timestamptz;
CREATE INDEX IF NOT EXISTS stamp_batches_unswept ON stamp_batches (expires_at)
    WHERE used_at IS NULL AND expired_at IS NULL AND callback_url IS NOT NULL;

ALTER TABLE callbacks ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE callbacks ADD COLUMN IF NOT EXISTS batch_id uuid;
CREATE INDEX IF NOT EXISTS callbacks_batch ON callbacks (batch_id) WHERE batch_id IS NOT NULL;
