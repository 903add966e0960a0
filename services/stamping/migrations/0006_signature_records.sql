-- Issue 15: a stamp's personal signature placements are the person's own signature, not a
-- seal use: not a usage record (not in the enterprise's seal usage) but a signature record,
-- the person's (who signed, with which certificate, in which request; found again by the
-- signature value's SHA-256, as verification finds usage records).
CREATE TABLE IF NOT EXISTS signature_records (
    record_id uuid PRIMARY KEY,
    request_id uuid NOT NULL UNIQUE,
    person_id uuid NOT NULL,
    user_name text NOT NULL,
    placement_indexes integer[] NOT NULL,
    certificate_serial text NOT NULL,
    signature_sha256 text NOT NULL UNIQUE,
    requester text NOT NULL DEFAULT '',
    signed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS signature_records_by_person ON signature_records (person_id, signed_at DESC);
