-- Every index is paid for on every insert. Nothing looks records up by request id,
-- and a dialect filter (a handful of values, each common) finds its newest records by
-- walking `id` backwards; these two indexes only slowed the writer down. The ones that
-- stay answer "the last 100 for this model / status" and the time range (retention).
DROP INDEX IF EXISTS traffic_request_id;
DROP INDEX IF EXISTS traffic_dialect;
