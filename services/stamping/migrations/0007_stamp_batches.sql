-- Issue 15, batches: several documents stamped from one QR code with one certificate password.
-- Each document is an ordinary stamp request (its own row, events, result and usage records);
-- the batch holds the one QR token (its SHA-256, single use), the person it was scanned by, and
-- per document the outcome of the batch stamp (a failed document says why).
CREATE TABLE IF NOT EXISTS stamp_batches (
    batch_id    uuid        PRIMARY KEY,
    client_id   uuid        NOT NULL REFERENCES clients,
    token_hash  bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    scanned_by  uuid,
    used_at     timestamptz,
    finished_at timestamptz
);

CREATE TABLE IF NOT EXISTS stamp_batch_items (
    batch_id      uuid    NOT NULL REFERENCES stamp_batches ON DELETE CASCADE,
    position      integer NOT NULL,
    request_id    uuid    NOT NULL UNIQUE REFERENCES stamp_requests,
    error_code    text,
    error_message text,
    PRIMARY KEY (batch_id, position)
);
