DROP TABLE pilot_versions;
