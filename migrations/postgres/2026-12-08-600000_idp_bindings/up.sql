-- Operator-managed bindings of an identity-provider claim value (a tenant id,
-- a group) to the organisation its people belong to (auth::mapping). One
-- value names at most one organisation.
CREATE TABLE idp_bindings (
    claim TEXT NOT NULL,
    claim_value TEXT NOT NULL,
    org_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (claim, claim_value)
);
CREATE INDEX idp_bindings_org ON idp_bindings (org_id);
