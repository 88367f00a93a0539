-- What the cross-organisation aggregates need of each pilot, kept up to date
-- by every write that can change it (pilot create/patch, entry append or
-- reversal, import, FX rate put), so a research query reads one narrow row per
-- pilot instead of every entry. Sums are USD minor units, each entry converted
-- with the FX rate for its period and rounded once (as the definitions say);
-- NULL marks a sum that left i64. Keep in step with the other backend's folder.
-- Existing pilots are filled in by the service at start-up (the FX conversion
-- is not expressible in SQL on both backends): see db::rollups::fill_missing.
CREATE TABLE pilot_rollups (
    org_id TEXT NOT NULL,
    pilot_id TEXT NOT NULL,
    evaluation_on DATE,
    business_function TEXT NOT NULL,
    sourcing TEXT NOT NULL,
    ai_kind TEXT NOT NULL,
    spend_usd_minor BIGINT,
    impact_3m_usd_minor BIGINT,
    impact_6m_usd_minor BIGINT,
    impact_12m_usd_minor BIGINT,
    unconverted_entries BIGINT NOT NULL,
    PRIMARY KEY (org_id, pilot_id)
);
-- Research reads walk the table in pilot id order, a chunk at a time.
CREATE UNIQUE INDEX pilot_rollups_pilot ON pilot_rollups (pilot_id);
