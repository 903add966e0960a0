-- stamping: each scan of a request's QR code is an event (RequestScanned, a stream of its own);
-- the evidence report (出证报告) finds a request's scans by request and person.
CREATE INDEX IF NOT EXISTS events_request_scans ON events ((data->>'request_id'), (data->>'person_id'))
    WHERE type = 'RequestScanned';
