DROP TABLE spend_source_settings;
DROP TABLE spend_sources;
DROP TABLE spend_source_entries;
DROP TABLE spend_imports;
DROP TABLE allocation_rules;
