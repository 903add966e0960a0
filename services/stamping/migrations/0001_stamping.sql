-- stamping: relying systems, stamp requests (their inputs; their state is their event
-- stream), stamped results, scans, usage records (a projection), callback outbox.

-- Relying systems (盖章系统). Created by ops with `python -m stamping create-client`.
CREATE TABLE IF NOT EXISTS clients (
    client_id      uuid        PRIMARY KEY,
    name           text        NOT NULL,
    secret_hash    text        NOT NULL,            -- argon2id
    webhook_secret text        NOT NULL,            -- HMAC key of callbacks (the platform signs with it)
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

-- The inputs of a request and its claim. Status lives in the event stream
-- (request_status is its projection); rows here are locked to serialize commands on a request.
CREATE TABLE IF NOT EXISTS stamp_requests (
    request_id      uuid        PRIMARY KEY,
    client_id       uuid        NOT NULL REFERENCES clients,
    kind            text        NOT NULL CHECK (kind IN ('pdf', 'digest')),
    title           text        NOT NULL,
    document_sha256 text        NOT NULL,
    document_size   integer,
    pages           integer,
    page            integer,
    x               double precision,
    y               double precision,
    callback_url    text,
    token_hash      bytea       NOT NULL,            -- SHA-256 of the QR token
    token_used_at   timestamptz,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- a stamp in progress: who, which attempt, until when the claim holds
    claim_id        uuid,
    claimed_by      uuid,
    claimed_until   timestamptz
);
CREATE INDEX IF NOT EXISTS stamp_requests_client ON stamp_requests (client_id, created_at DESC);

-- The uploaded PDF until it is stamped (the stamped PDF contains it) or the request expires.
CREATE TABLE IF NOT EXISTS request_documents (
    request_id uuid  PRIMARY KEY REFERENCES stamp_requests ON DELETE CASCADE,
    content    bytea NOT NULL
);

CREATE TABLE IF NOT EXISTS stamp_results (
    request_id   uuid        PRIMARY KEY REFERENCES stamp_requests,
    record_id    uuid        NOT NULL UNIQUE,
    content_type text        NOT NULL,
    content      bytea       NOT NULL,
    sha256       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Who presented a request's QR token: only they may stamp it.
CREATE TABLE IF NOT EXISTS scans (
    request_id uuid        NOT NULL REFERENCES stamp_requests ON DELETE CASCADE,
    person_id  uuid        NOT NULL,
    scanned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, person_id)
);

-- Projection `request_status` (StampRequested / StampApplied / StampRequestExpired).
CREATE TABLE IF NOT EXISTS request_status (
    request_id uuid        PRIMARY KEY,
    client_id  text        NOT NULL,
    status     text        NOT NULL,
    expires_at timestamptz NOT NULL,
    stamped_at timestamptz,
    record_id  uuid
);
CREATE INDEX IF NOT EXISTS request_status_due ON request_status (expires_at) WHERE status = 'pending';

-- Projection `usage_records` (UsageRecorded). Listed for 3 months, kept forever.
CREATE TABLE IF NOT EXISTS usage_records (
    record_id                  uuid        PRIMARY KEY,
    request_id                 uuid        NOT NULL UNIQUE,
    used_at                    timestamptz NOT NULL,
    person_id                  uuid        NOT NULL,
    user_name                  text        NOT NULL,
    enterprise_id              uuid        NOT NULL,
    enterprise_name            text        NOT NULL,
    seal_id                    uuid        NOT NULL,
    seal_name                  text        NOT NULL,
    seal_type                  text        NOT NULL,
    document_title             text        NOT NULL,
    document_sha256            text        NOT NULL,
    kind                       text        NOT NULL,
    client_id                  text        NOT NULL,
    requester                  text        NOT NULL,
    authorization_text         text        NOT NULL,
    person_signature_b64       text        NOT NULL,
    person_signature_algorithm text        NOT NULL,
    person_certificate_serial  text        NOT NULL,
    seal_certificate_serial    text        NOT NULL,
    result_sha256              text        NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_records_by_enterprise ON usage_records (enterprise_id, used_at DESC, record_id DESC);
CREATE INDEX IF NOT EXISTS usage_records_by_person ON usage_records (person_id, used_at DESC, record_id DESC);

-- Callback outbox: written with the stamp (or the expiry), delivered by a background worker.
CREATE TABLE IF NOT EXISTS callbacks (
    callback_id     uuid        PRIMARY KEY,
    request_id      uuid        NOT NULL,
    client_id       uuid        NOT NULL REFERENCES clients,
    url             text        NOT NULL,
    event           text        NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (next_attempt_at) WHERE status = 'pending';
