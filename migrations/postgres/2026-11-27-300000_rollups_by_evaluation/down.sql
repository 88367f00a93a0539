DROP INDEX pilot_rollups_evaluation;
