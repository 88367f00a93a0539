-- Running per-pilot totals by entry type and currency, kept in step with every
-- append so the overflow check on write is O(1) instead of a scan of the
-- pilot's entries. SQLite flavour; keep in step with ../../postgres.
CREATE TABLE pilot_totals (
    org_id TEXT NOT NULL,
    pilot_id TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    PRIMARY KEY (org_id, pilot_id, entry_type, currency)
);
INSERT INTO pilot_totals (org_id, pilot_id, entry_type, currency, total_minor, entries)
SELECT org_id, pilot_id, entry_type, currency, SUM(amount_minor), COUNT(*)
FROM entries GROUP BY org_id, pilot_id, entry_type, currency;
