-- What the published definitions beyond MIT NANDA's need (docs/DEFINITIONS.md):
-- a pilot's dated stage history (S&P Global: abandoned before it ever reached
-- production; each transition's date and, for abandonment, its reason) and
-- the benefit expected of it at approval (IBM: did it deliver what was
-- expected). Pilots written before this keep an empty history: their
-- current stage, entered on stage_entered_on, is read as their history.
ALTER TABLE pilots ADD COLUMN stage_history TEXT NOT NULL DEFAULT '[]';
ALTER TABLE pilots ADD COLUMN expected_benefit_minor BIGINT;
ALTER TABLE pilots ADD COLUMN expected_benefit_currency TEXT;
-- The rollups take what those definitions read per pilot: whether it ever
-- reached production, its stage, the expected benefit in USD, and measured
-- impact split into revenue gains and cost decreases (PwC) per window. The
-- rows are dropped so that start-up fills them in again from the ledger
-- (db::rollups::fill_missing), computed with the new columns.
ALTER TABLE pilot_rollups ADD COLUMN stage TEXT NOT NULL DEFAULT 'piloting';
ALTER TABLE pilot_rollups ADD COLUMN reached_production BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE pilot_rollups ADD COLUMN expected_benefit_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN revenue_3m_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN revenue_6m_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN revenue_12m_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN cost_3m_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN cost_6m_usd_minor BIGINT;
ALTER TABLE pilot_rollups ADD COLUMN cost_12m_usd_minor BIGINT;
DELETE FROM pilot_rollups;
