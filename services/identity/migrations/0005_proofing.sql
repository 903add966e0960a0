-- Proofing at registration (docs/ARCHITECTURE.md, "Proofing"): whether the account's
-- holder was checked. A person is `verified` by the three-element check at registration, or
-- `pending_verification` when the real-name provider could not answer then (cannot log in;
-- the check is retried at each login). An enterprise passed the business-registry check at
-- registration and is `pending_verification` until its legal representative passes a face
-- check (it can log in, but certs does not activate its certificate). Accounts made before
-- this column existed (and agents) count as `verified`.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS verification text NOT NULL DEFAULT 'verified'
    CHECK (verification IN ('verified', 'pending_verification'));
