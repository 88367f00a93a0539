-- Budgets, alert rules, the alerts they fired, webhook endpoints, the outbox
-- of webhook messages (written in the transaction of the alert that caused
-- them, so a crash never loses one) and the delivery log (issue 24).

-- A budget: an amount in a currency per period, for one pilot (pilot_id set)
-- or for the whole organisation (pilot_id NULL).
CREATE TABLE budgets (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pilot_id TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    period TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX budgets_by_pilot ON budgets (org_id, pilot_id);

-- What to watch: budget thresholds (threshold_pct), evaluation overdue and
-- no measured impact (months), spend without impact.
CREATE TABLE alert_rules (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    threshold_pct INTEGER,
    months INTEGER,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- Every firing of a rule for a subject ("budget:<id>:<period>" or
-- "pilot:<id>"): open while the condition holds, cleared when it stops, so
-- the next crossing fires anew. At most one open alert per rule and subject.
CREATE TABLE alerts (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    pilot_id TEXT,
    budget_id TEXT,
    period_key TEXT,
    fired_at TIMESTAMP NOT NULL,
    cleared_at TIMESTAMP,
    reason TEXT NOT NULL,
    details_json TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (org_id, rule_id, subject) WHERE cleared_at IS NULL;

CREATE TABLE webhook_endpoints (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    format TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One message per (alert, endpoint); its id is the webhook-id and its payload
-- never changes, so every retry is byte-identical.
CREATE TABLE webhook_outbox (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    failed_at TIMESTAMP,
    last_error TEXT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE webhook_attempts (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (org_id, endpoint_id, id);
