-- The face provider's reference of a check (Tencent Cloud's BizToken): identity fetches the
-- result with it server-side. NULL for the sandbox provider.
ALTER TABLE face_checks ADD COLUMN provider_ref text;
