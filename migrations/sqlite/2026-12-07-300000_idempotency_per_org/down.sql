CREATE TABLE idempotency_keys_by_token (
    org_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, token_id, idem_key)
);
INSERT INTO idempotency_keys_by_token SELECT * FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_token RENAME TO idempotency_keys;
