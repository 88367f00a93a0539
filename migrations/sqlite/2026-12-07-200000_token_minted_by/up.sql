-- The jti of the token that minted this one (null: minted offline by the CLI,
-- or before this column existed), so revoking a token revokes what it minted.
ALTER TABLE tokens ADD COLUMN minted_by TEXT;
CREATE INDEX tokens_minted_by ON tokens (minted_by);
