-- identity: login accounts, sessions, face checks, throttling, signing keys.
-- The event store (shared 0000) holds the facts without secrets or full ID/phone numbers;
-- these tables hold the state a login needs (password hashes, full numbers for the
-- certificate subject and SMS), written in the same transaction as the events.

CREATE TABLE accounts (
    id                        uuid        PRIMARY KEY,
    role                      text        NOT NULL CHECK (role IN ('person', 'enterprise', 'agent')),
    name                      text        NOT NULL,
    phone                     text        NOT NULL,
    password_hash             text        NOT NULL,
    id_type                   text,
    id_number                 text,
    person_key                text,
    enterprise_id             uuid,
    enterprise_name           text,
    enterprise_uscc           text,
    legal_representative_name text,
    can_manage                boolean,
    valid_from                date,
    valid_to                  date,
    removed_at                timestamptz,
    failed_logins             integer     NOT NULL DEFAULT 0,
    locked_until              timestamptz,
    login_version             integer     NOT NULL DEFAULT 0,  -- version of stream login-<id>
    certificate_status        text        NOT NULL DEFAULT 'none',
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'agent' OR (enterprise_id IS NOT NULL AND valid_from IS NOT NULL
                               AND valid_to IS NOT NULL AND valid_to >= valid_from))
);
-- Who may register / be an agent only once: the unique indexes are the arbiters of races.
CREATE UNIQUE INDEX accounts_person_id_number ON accounts (id_number) WHERE role = 'person';
CREATE UNIQUE INDEX accounts_person_phone ON accounts (phone) WHERE role = 'person';
CREATE UNIQUE INDEX accounts_enterprise_uscc ON accounts (enterprise_uscc) WHERE role = 'enterprise';
CREATE UNIQUE INDEX accounts_agent_phone ON accounts (enterprise_id, phone)
    WHERE role = 'agent' AND removed_at IS NULL;

CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    principal_id uuid        NOT NULL REFERENCES accounts (id),
    method       text        NOT NULL,
    client_ip    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX sessions_live ON sessions (principal_id) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque random strings; only their SHA-256 is kept. Rotated on use:
-- the used row stays (used_at set) so that a replay of an old token is recognised.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES sessions (id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Projection of SessionsRevoked: what the gateway resynchronises from.
CREATE TABLE revocations (
    event_id       uuid        PRIMARY KEY,
    principal_id   uuid        NOT NULL,
    session_id     text,
    reason         text        NOT NULL,
    revoked_before timestamptz NOT NULL,
    occurred_at    timestamptz NOT NULL
);
CREATE INDEX revocations_recent ON revocations (occurred_at);

-- Face checks, as the sandbox provider keeps them (a real provider keeps its own).
CREATE TABLE face_checks (
    id               uuid        PRIMARY KEY,
    subject_id       uuid,
    purpose          text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending',
    expires_at       timestamptz NOT NULL,
    token_hash       bytea       UNIQUE,
    token_expires_at timestamptz,
    used_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX face_checks_created ON face_checks (created_at);

-- Fixed-window counters of login attempts (by username) and failures (by client IP).
CREATE TABLE login_throttle (
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- ES256 signing keys; the private key is AES-GCM sealed with a subkey of ESEAL_MASTER_KEY.
CREATE TABLE signing_keys (
    kid         text        PRIMARY KEY,
    private_key bytea       NOT NULL,
    public_jwk  jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
