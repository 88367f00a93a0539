-- The date a pilot first entered an evaluated stage (production, scaled or
-- abandoned), its evaluation date when evaluated_on is not set. Kept apart
-- from stage_entered_on so that moving on from production to scaled, or any
-- later edit, never moves the evaluation date, and null when that date is
-- unknown (a pilot created already evaluated with no date for it), so such a
-- pilot is left out and counted instead of being dated the day it was loaded.
-- Existing evaluated pilots keep the date they have today.
ALTER TABLE pilots ADD COLUMN evaluation_stage_on DATE;
UPDATE pilots SET evaluation_stage_on = stage_entered_on
 WHERE stage IN ('production', 'scaled', 'abandoned');
ALTER TABLE pilot_versions ADD COLUMN evaluation_stage_on DATE;
UPDATE pilot_versions SET evaluation_stage_on = stage_entered_on
 WHERE stage IN ('production', 'scaled', 'abandoned');
