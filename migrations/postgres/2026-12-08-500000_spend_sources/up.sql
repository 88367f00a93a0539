-- Spend that arrives by itself (issue 21): allocation rules, the bills
-- imported (FOCUS, OpenAI and Anthropic cost reports), which ledger entries
-- each bill wrote, and each bill's current totals and unallocated rest.
CREATE TABLE allocation_rules (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    priority BIGINT NOT NULL,
    rule_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One row per import that wrote something; its report as it was answered.
CREATE TABLE spend_imports (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    report_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- The source of every entry a bill wrote (the entry itself is in `entries`;
-- it is live while no entry reverses it).
CREATE TABLE spend_source_entries (
    org_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    source_key TEXT NOT NULL,
    import_id TEXT NOT NULL,
    pilot_id TEXT NOT NULL,
    month DATE NOT NULL,
    service_category TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (org_id, entry_id)
);
CREATE INDEX spend_source_entries_by_source ON spend_source_entries (org_id, source_key);

-- Each bill's figures per currency as its latest import left them.
CREATE TABLE spend_sources (
    org_id TEXT NOT NULL,
    source_key TEXT NOT NULL,
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    billing_account TEXT NOT NULL,
    billing_period DATE NOT NULL,
    import_id TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    total_exact TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    allocated_minor BIGINT NOT NULL,
    unallocated_minor BIGINT NOT NULL,
    unallocated_exact TEXT NOT NULL,
    unallocated_rows BIGINT NOT NULL,
    unallocated_json TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, source_key, currency)
);

-- Which FOCUS cost column counts for the organisation.
CREATE TABLE spend_source_settings (
    org_id TEXT NOT NULL PRIMARY KEY,
    cost_column TEXT NOT NULL
);
