-- Secrets every process of one deployment shares, created by the first
-- process that needs them (db::secrets). The bootstrap's base seed lives here:
-- callers no longer choose it, and it is never published, so the resampling
-- cannot be rebuilt offline to recover per-organisation counts.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
