DROP TABLE webhook_attempts;
DROP TABLE webhook_outbox;
DROP TABLE webhook_endpoints;
DROP TABLE alerts;
DROP TABLE alert_rules;
DROP TABLE budgets;
