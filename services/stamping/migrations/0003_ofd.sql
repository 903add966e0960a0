-- OFD documents (GB/T 33190), stamped with the seal's SM2 key (GB/T 38540).
ALTER TABLE stamp_requests DROP CONSTRAINT IF EXISTS stamp_requests_kind_check;
ALTER TABLE stamp_requests ADD CONSTRAINT stamp_requests_kind_check
    CHECK (kind IN ('pdf', 'digest', 'ofd'));
-- Which format and signature algorithm a stamp used ("pades"/"ecdsa-p256-sha256",
-- "cms"/"ecdsa-p256-sha256", "gbt38540"/"sm2-sm3"); NULL for records older than these columns.
ALTER TABLE usage_records ADD COLUMN IF NOT EXISTS format text;
ALTER TABLE usage_records ADD COLUMN IF NOT EXISTS algorithm text;
