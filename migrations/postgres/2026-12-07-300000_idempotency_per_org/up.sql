-- Idempotency keys belong to the organisation, not to the token that sent
-- them: the same key and body from a second token of the organisation replays
-- the first answer instead of writing again. Where two tokens of one
-- organisation used one key, the newest record is kept.
DELETE FROM idempotency_keys a USING idempotency_keys b
 WHERE a.org_id = b.org_id AND a.idem_key = b.idem_key
   AND (a.created_at, a.token_id) < (b.created_at, b.token_id);
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (org_id, idem_key);
