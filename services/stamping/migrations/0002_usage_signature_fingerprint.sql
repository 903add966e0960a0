-- Verification finds the usage record of a signature by the SHA-256 of its signature value
-- (the seal's raw signature, unique per stamp), never by what the document says about itself.
-- Records written before it: `python -m stamping backfill-signature-fingerprints`.
ALTER TABLE usage_records ADD COLUMN IF NOT EXISTS seal_signature_sha256 text;
CREATE UNIQUE INDEX IF NOT EXISTS usage_records_by_signature
    ON usage_records (seal_signature_sha256) WHERE seal_signature_sha256 IS NOT NULL;
