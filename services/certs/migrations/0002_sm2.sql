-- certs: the SM2 hierarchy beside the ECDSA one (GB/T 38540 seals, OFD signatures).
--
-- sm2_authorities: the SM2 root, the SM2 issuing CA and the platform's seal-making (制章)
-- certificate, keys wrapped by the master key exactly like the ECDSA CA's ("EW1" blobs).
CREATE TABLE IF NOT EXISTS sm2_authorities (
    role            text        PRIMARY KEY CHECK (role IN ('root', 'issuing', 'seal_maker')),
    certificate_der bytea       NOT NULL,
    wrapped_key     bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The SM2 issuing CA's CRL is kept beside the ECDSA ones.
ALTER TABLE crls DROP CONSTRAINT IF EXISTS crls_issuer_check;
ALTER TABLE crls ADD CONSTRAINT crls_issuer_check
    CHECK (issuer IN ('root', 'issuing', 'sm2_issuing'));

-- Read model: the SM2 twin of a certificate (same aggregate, same stream; its status, password
-- lockout and revocation are the twin's row in `certificates`).
CREATE TABLE IF NOT EXISTS sm2_certificates (
    certificate_id     uuid        PRIMARY KEY,
    key_id             uuid        NOT NULL,
    serial_number      text        NOT NULL UNIQUE,
    subject            text        NOT NULL,
    issuer             text        NOT NULL,
    not_before         timestamptz NOT NULL,
    not_after          timestamptz NOT NULL,
    fingerprint_sha256 text        NOT NULL,
    certificate_pem    text        NOT NULL,
    created_at         timestamptz NOT NULL
);
