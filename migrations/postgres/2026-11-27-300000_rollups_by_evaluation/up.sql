-- The export reads the evaluated pilots' rollups one evaluation quarter at a
-- time, so it holds one quarter's per-organisation sums instead of a row per
-- pilot. Only evaluated pilots are read that way: index just those. Entries
-- rewrite a rollup's sums but not its evaluation date, so they leave this
-- index alone.
CREATE INDEX pilot_rollups_evaluation ON pilot_rollups (evaluation_on) WHERE evaluation_on IS NOT NULL;
