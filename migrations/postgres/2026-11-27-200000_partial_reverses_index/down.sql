DROP INDEX entries_reverses;
CREATE UNIQUE INDEX entries_reverses ON entries (org_id, reverses);
