-- seals: the seal's certificate follows certs' SealCertificateRenewed (automatic renewal
-- before expiry). ``not_after`` of the certificate the row holds, known from the first
-- renewal on (NULL: the certificate issued with the seal): the later certificate wins when
-- two renewals of one seal arrive out of order (they are on different certificate streams).
ALTER TABLE seal_certificates ADD COLUMN IF NOT EXISTS not_after timestamptz;
