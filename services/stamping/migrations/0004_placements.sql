-- Placements (issue 15): where a request's stamps go, resolved when the request is made
-- (stamping.domain.placements.to_json). NULL for older requests: their page/x/y is the one seal.
ALTER TABLE stamp_requests ADD COLUMN IF NOT EXISTS placements jsonb;
