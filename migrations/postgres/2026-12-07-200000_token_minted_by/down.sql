DROP INDEX tokens_minted_by;
ALTER TABLE tokens DROP COLUMN minted_by;
