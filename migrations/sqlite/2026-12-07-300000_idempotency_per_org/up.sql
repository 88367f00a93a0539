-- Idempotency keys belong to the organisation, not to the token that sent
-- them: the same key and body from a second token of the organisation replays
-- the first answer instead of writing again. Where two tokens of one
-- organisation used one key, the newest record is kept.
CREATE TABLE idempotency_keys_by_org (
    org_id TEXT NOT NULL,
    token_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, idem_key)
);
INSERT OR REPLACE INTO idempotency_keys_by_org
    SELECT org_id, token_id, idem_key, request_hash, response_status, response_body, created_at
    FROM idempotency_keys ORDER BY created_at, token_id;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_by_org RENAME TO idempotency_keys;
