DROP TABLE pilot_rollups;
