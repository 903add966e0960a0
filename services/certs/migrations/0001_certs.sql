-- certs: the platform CA, key custody, the certificates read model, activation codes,
-- agreement acceptances, and the sandbox SMS outbox.
--
-- Private keys are stored only wrapped (AES-256-GCM): CA and seal keys under the master key
-- (blob "EW1"...), users' keys under their certificate password and the master key (JSON
-- with public KDF parameters and the ciphertext). Nothing here is a key in the clear.

-- The CA's own material: one row per role, created once (insert-if-absent under an
-- advisory lock, so replicas starting together agree on one CA).
CREATE TABLE IF NOT EXISTS authorities (
    role            text        PRIMARY KEY CHECK (role IN ('root', 'issuing', 'tsa')),
    certificate_der bytea       NOT NULL,
    wrapped_key     bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The current CRL of each CA: 'issuing' lists revoked end-entity certificates, 'root' is
-- the (empty) authority revocation list for the issuing CA. crl_number only grows.
CREATE TABLE IF NOT EXISTS crls (
    issuer      text        PRIMARY KEY CHECK (issuer IN ('root', 'issuing')),
    crl_number  bigint      NOT NULL CHECK (crl_number >= 1),
    this_update timestamptz NOT NULL,
    next_update timestamptz NOT NULL,
    der         bytea       NOT NULL
);

-- Key custody (the software "HSM" adapter). owner binds a blob to its certificate (AAD).
CREATE TABLE IF NOT EXISTS private_keys (
    key_id         uuid        PRIMARY KEY,
    owner          text        NOT NULL,
    protection     text        NOT NULL CHECK (protection IN ('password', 'master')),
    algorithm      text        NOT NULL,
    public_key_der bytea       NOT NULL,
    wrapped        bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Read model of the certificate aggregate (projection "certificates", applied inline).
CREATE TABLE IF NOT EXISTS certificates (
    certificate_id     uuid        PRIMARY KEY,
    owner_type         text        NOT NULL CHECK (owner_type IN ('person', 'enterprise', 'agent', 'seal')),
    owner_id           uuid        NOT NULL,
    enterprise_id      uuid,
    seal_id            uuid        UNIQUE,
    key_id             uuid        NOT NULL,
    serial_number      text        NOT NULL UNIQUE,
    subject            text        NOT NULL,
    issuer             text        NOT NULL,
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    fingerprint_sha256 text        NOT NULL DEFAULT '',
    certificate_pem    text        NOT NULL,
    subject_digest     text,
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    revoked_at         timestamptz,
    revocation_reason  text,
    password_failures  integer     NOT NULL DEFAULT 0,
    locked_until       timestamptz,
    created_at         timestamptz NOT NULL,
    version            integer     NOT NULL
);
-- One active certificate per user account; seal certificates are unique per seal above.
CREATE UNIQUE INDEX IF NOT EXISTS certificates_one_active_per_user
    ON certificates (owner_id) WHERE status = 'active' AND owner_type <> 'seal';
CREATE INDEX IF NOT EXISTS certificates_revoked ON certificates (revoked_at) WHERE status = 'revoked';

CREATE TABLE IF NOT EXISTS agreement_acceptances (
    certificate_id uuid        NOT NULL,
    principal_id   uuid        NOT NULL,
    code           text        NOT NULL,
    version        text        NOT NULL,
    accepted_at    timestamptz NOT NULL,
    PRIMARY KEY (certificate_id, code)
);
CREATE INDEX IF NOT EXISTS agreement_acceptances_principal ON agreement_acceptances (principal_id);

-- The current SMS activation code of each principal: a keyed hash, never the code.
CREATE TABLE IF NOT EXISTS activation_codes (
    principal_id uuid        PRIMARY KEY,
    code_hash    bytea       NOT NULL,
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    failures     integer     NOT NULL DEFAULT 0,
    consumed_at  timestamptz
);

-- Sandbox SMS adapter: messages "sent" in development and tests (GET /api/v1/sandbox/sms).
CREATE TABLE IF NOT EXISTS sandbox_sms (
    id      bigserial   PRIMARY KEY,
    phone   text        NOT NULL,
    text    text        NOT NULL,
    sent_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_sms_by_phone ON sandbox_sms (phone, id DESC);
