ALTER TABLE orgs DROP COLUMN fx_rate_required;
