-- Which certificate ``certificate_status`` is about: a certificate reset or renewal in certs
-- revokes the old certificate and issues the new one in one transaction, but they are two
-- streams, so their events may be handled in either order. A revocation now ends the status
-- only when it names the current certificate (or none is known: accounts from before).
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS certificate_id uuid;
