-- certs: the platform's own document-signing (sealing) certificate, beside the TSA.
--
-- It signs what the platform itself issues (the evidence report, 出证报告), never a user's
-- document: issued by the issuing CA, key wrapped by the master key like the CA keys. Made on
-- the first start that finds it missing (also after an upgrade), under the CA's lock.
ALTER TABLE authorities DROP CONSTRAINT IF EXISTS authorities_role_check;
ALTER TABLE authorities ADD CONSTRAINT authorities_role_check
    CHECK (role IN ('root', 'issuing', 'tsa', 'platform'));
