-- 用印审批: a stamp waiting for an approver. The person's part is done (their certificate
-- password checked, their signature over the authorization made, a personal-signature
-- revision signed): what is kept is that signature VALUE and the document with the person's
-- revision, never a key or a password. The seal signatures are made on approval, by seals
-- (custodial seal keys in certs). ``document`` and ``person_signature`` are dropped once the
-- approval is decided.
CREATE TABLE IF NOT EXISTS approvals (
    approval_id      uuid        PRIMARY KEY,
    request_id       uuid        NOT NULL UNIQUE REFERENCES stamp_requests,
    enterprise_id    uuid        NOT NULL,
    person_id        uuid        NOT NULL,
    person_name      text        NOT NULL DEFAULT '',
    seal_ids         uuid[]      NOT NULL,
    approvers        uuid[]      NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'granted', 'rejected')),
    cause            text,
    reason           text        NOT NULL DEFAULT '',
    requested_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       uuid,
    claim_id         uuid        NOT NULL,
    seal_id          uuid,  -- the stamp call's seal_id (null when choices named every placement)
    choices          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    authorized_at    timestamptz NOT NULL,
    person_signature jsonb,
    own_indexes      integer[]   NOT NULL DEFAULT '{}',
    document         bytea,
    -- one decision at a time: an approval being applied is leased (approve, like a stamp claim)
    deciding_until   timestamptz
);
CREATE INDEX IF NOT EXISTS approvals_pending ON approvals (expires_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS approvals_by_seal ON approvals USING gin (seal_ids) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS approvals_by_person ON approvals (person_id, requested_at DESC);
