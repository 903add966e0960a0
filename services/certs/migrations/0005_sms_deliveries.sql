-- certs: each SMS sent through Tencent Cloud and its delivery report (回执).
--
-- Never the code nor the whole phone number: the kind of message, the masked phone, the
-- provider's message id (SerialNo) and what the provider's delivery report said. The pull
-- (PullSmsSendStatus) updates a row once, from 'sent' to 'delivered' or 'failed'.
CREATE TABLE IF NOT EXISTS sms_deliveries (
    serial_no     text PRIMARY KEY,
    kind          text NOT NULL,
    phone_masked  text NOT NULL,
    sent_at       timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'delivered', 'failed')),
    report_code   text,
    report_description text,
    reported_at   timestamptz
);
CREATE INDEX IF NOT EXISTS sms_deliveries_pending ON sms_deliveries (sent_at) WHERE status = 'sent';

-- The message that carried a person's current code (NULL: a provider without delivery
-- reports): GET /api/v1/certificate/codes/latest tells whether it arrived.
ALTER TABLE activation_codes ADD COLUMN IF NOT EXISTS sms_serial_no text;
