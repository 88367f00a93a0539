-- Only reversals carry `reverses`: index just those. The full index took one
-- insert into a shared page per entry for a NULL nobody looks up, a page
-- every group-commit batch wrote to the WAL. Uniqueness (an entry is reversed
-- at most once) is unchanged: NULLs never conflicted.
DROP INDEX entries_reverses;
CREATE UNIQUE INDEX entries_reverses ON entries (org_id, reverses) WHERE reverses IS NOT NULL;
