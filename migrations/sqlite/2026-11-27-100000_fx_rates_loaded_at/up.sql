-- The latest FX load, max(loaded_at), is part of the change stamp every
-- GET /v1/summary reads (src/db/changes.rs): an index makes it one seek
-- instead of a scan of every rate. Keep in step with ../../postgres.
CREATE INDEX fx_rates_loaded_at ON fx_rates (loaded_at);
