-- certs: automatic renewal of seal certificates (SealCertificateRenewed).
--
-- A seal keeps every certificate it ever had: the renewed one stays in ``certificates`` with
-- ``superseded_by`` naming its successor, so its serial stays findable (by-serial: evidence
-- reports, verification of the stamps made with it). One current certificate per seal.
ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_seal_id_key;
ALTER TABLE certificates ADD COLUMN IF NOT EXISTS superseded_by uuid;
ALTER TABLE certificates ADD COLUMN IF NOT EXISTS superseded_at timestamptz;
CREATE UNIQUE INDEX IF NOT EXISTS certificates_current_seal
    ON certificates (seal_id) WHERE seal_id IS NOT NULL AND superseded_by IS NULL;
-- the hourly renewal round: active, current seal certificates by expiry
CREATE INDEX IF NOT EXISTS certificates_seal_expiry
    ON certificates (not_after) WHERE owner_type = 'seal' AND status = 'active' AND superseded_by IS NULL;
