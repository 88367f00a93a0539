-- pilotledger schema, PostgreSQL flavour. Keep in step with ../../sqlite (same timestamps).
-- Ids are UUID text; timestamps are UTC without zone; money is integer minor units.
CREATE TABLE orgs (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    industry TEXT NOT NULL,
    size_band TEXT NOT NULL,
    region TEXT NOT NULL,
    reporting_currency TEXT NOT NULL,
    ledger_version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE tokens (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT REFERENCES orgs(id),
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX tokens_org ON tokens (org_id, id);

CREATE TABLE pilots (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    business_function TEXT NOT NULL,
    sourcing TEXT NOT NULL,
    ai_kind TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_entered_on DATE NOT NULL,
    started_on DATE,
    evaluated_on DATE,
    owner_team TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    external_ref TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX pilots_id ON pilots (id);

CREATE TABLE entries (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    id TEXT NOT NULL,
    pilot_id TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    category TEXT NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    capex BOOLEAN,
    attribution_method TEXT,
    confidence DOUBLE PRECISION,
    measured BOOLEAN,
    note TEXT,
    reverses TEXT,
    replaces TEXT,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, pilot_id) REFERENCES pilots(org_id, id)
);
CREATE INDEX entries_pilot ON entries (org_id, pilot_id, entry_type, id);
-- An entry can be reversed once; the unique index makes a racing second reversal fail.
CREATE UNIQUE INDEX entries_reverses ON entries (org_id, reverses);

CREATE TABLE fx_rates (
    currency TEXT NOT NULL,
    rate_date DATE NOT NULL,
    rate_to_usd TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (currency, rate_date)
);

CREATE TABLE audit_events (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, token_id, idem_key)
);
