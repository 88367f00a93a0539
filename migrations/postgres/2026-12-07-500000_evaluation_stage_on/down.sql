ALTER TABLE pilot_versions DROP COLUMN evaluation_stage_on;
ALTER TABLE pilots DROP COLUMN evaluation_stage_on;
