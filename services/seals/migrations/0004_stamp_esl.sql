-- seals: the SES_Seal an OFD stamp embeds, made once per seal certificate (GB/T 38540: the
-- seal-making system makes the seal, signatures reuse it). It lists only the seal's own SM2
-- certificate, so it changes only when the seal's certificate is renewed: the row is keyed by
-- that certificate's serial, and a renewal makes the next stamp make and keep a new one.
-- Whether the seal may be used is decided on every request before this row is read.
CREATE TABLE IF NOT EXISTS stamp_esls (
    seal_id            uuid        PRIMARY KEY,
    certificate_serial text        NOT NULL,
    der                bytea       NOT NULL,
    made_at            timestamptz NOT NULL DEFAULT now()
);
