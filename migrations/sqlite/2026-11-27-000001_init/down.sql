DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP TABLE fx_rates;
DROP TABLE entries;
DROP TABLE pilots;
DROP TABLE tokens;
DROP TABLE orgs;
