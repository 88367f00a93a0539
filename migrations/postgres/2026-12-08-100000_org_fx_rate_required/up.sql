-- An organisation may refuse money writes in a currency that has no FX rate
-- dated on or before the entry's period end (422 fx_rate_missing), so every
-- entry it records can be converted. Off for existing organisations: they
-- keep accepting such entries (their summaries leave them out and say so).
ALTER TABLE orgs ADD COLUMN fx_rate_required BOOLEAN NOT NULL DEFAULT FALSE;
