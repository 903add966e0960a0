-- seals: the state tables written in the same transaction as the events they come from
-- (rebuildable from the event store: projection "seals_state"), the blobs those events
-- only fingerprint, and the directory of other services' data fed by their events.

-- Seals. One active seal per (enterprise, type): the partial unique index is what makes two
-- concurrent applications for the same type end with exactly one seal.
CREATE TABLE seals (
    seal_id            uuid        PRIMARY KEY,
    enterprise_id      uuid        NOT NULL,
    type               text        NOT NULL,
    name               text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('active', 'revoked')),
    image_sha256       text        NOT NULL,
    certificate_serial text        NOT NULL,
    issued_by          uuid        NOT NULL,
    created_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_by         uuid,
    revoke_reason      text        NOT NULL DEFAULT '',
    version            integer     NOT NULL
);
CREATE UNIQUE INDEX seals_one_active_per_type ON seals (enterprise_id, type) WHERE status = 'active';
CREATE INDEX seals_by_enterprise ON seals (enterprise_id, created_at DESC, seal_id);

-- Grants (印章授权). One live grant per (seal, person); a deleted grant stays as history.
CREATE TABLE grants (
    grant_id         uuid        PRIMARY KEY,
    seal_id          uuid        NOT NULL,
    enterprise_id    uuid        NOT NULL,
    person_id        uuid        NOT NULL,
    person_name      text        NOT NULL DEFAULT '',
    id_number_masked text        NOT NULL DEFAULT '',
    valid_from       date        NOT NULL,
    valid_to         date        NOT NULL CHECK (valid_to >= valid_from),
    deleted          boolean     NOT NULL DEFAULT false,
    granted_by       uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    deleted_at       timestamptz,
    version          integer     NOT NULL
);
CREATE UNIQUE INDEX grants_one_live_per_person ON grants (seal_id, person_id) WHERE NOT deleted;
CREATE INDEX grants_by_seal ON grants (seal_id, created_at, grant_id);
CREATE INDEX grants_by_person ON grants (person_id) WHERE NOT deleted;

-- Personal signatures (个人电子签名): one live signature per person.
CREATE TABLE signatures (
    signature_id uuid        PRIMARY KEY,
    person_id    uuid        NOT NULL,
    method       text        NOT NULL CHECK (method IN ('handwritten', 'generated')),
    image_sha256 text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    deleted      boolean     NOT NULL DEFAULT false,
    deleted_at   timestamptz,
    version      integer     NOT NULL
);
CREATE UNIQUE INDEX signatures_one_per_person ON signatures (person_id) WHERE NOT deleted;

-- Blobs the events fingerprint (image_sha256, certificate_serial); not part of the
-- rebuildable projection, written in the same transaction as the event.
CREATE TABLE seal_images (
    seal_id uuid  PRIMARY KEY,
    png     bytea NOT NULL,
    sha256  text  NOT NULL
);

CREATE TABLE seal_certificates (
    seal_id         uuid  PRIMARY KEY,
    certificate_id  text  NOT NULL DEFAULT '',
    serial_number   text  NOT NULL,
    certificate_pem text  NOT NULL,
    chain_pem       jsonb NOT NULL DEFAULT '[]'::jsonb
);

-- Deleted with the signature (personal data is not kept once the person removes it).
CREATE TABLE signature_images (
    signature_id uuid  PRIMARY KEY,
    png          bytea NOT NULL,
    sha256       text  NOT NULL
);

-- Seal certificates still to be revoked in certs: written with SealRevoked, removed once
-- certs confirmed. A background task retries, so a certs outage never loses a revocation.
CREATE TABLE pending_certificate_revocations (
    seal_id    uuid        PRIMARY KEY,
    reason     text        NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    next_try   timestamptz NOT NULL DEFAULT now()
);

-- Directory: other services' data, fed by their events (consumer) or, when an event has not
-- arrived yet, by a synchronous look-up at identity. Versions make out-of-order delivery safe.
CREATE TABLE enterprises (
    enterprise_id             uuid PRIMARY KEY,
    name                      text NOT NULL,
    uscc                      text NOT NULL,
    legal_representative_name text NOT NULL
);

CREATE TABLE persons (
    person_id        uuid PRIMARY KEY,
    name             text NOT NULL,
    id_number_masked text NOT NULL DEFAULT ''
);

CREATE TABLE agents (
    agent_id      uuid    PRIMARY KEY,
    enterprise_id uuid    NOT NULL,
    name          text    NOT NULL DEFAULT '',
    valid_from    date,
    valid_to      date,
    can_manage    boolean NOT NULL DEFAULT false,
    removed       boolean NOT NULL DEFAULT false,
    version       integer NOT NULL DEFAULT 0
);
CREATE INDEX agents_by_enterprise ON agents (enterprise_id);
