-- Files the CLI has imported, by their content's SHA-256, so running
-- `pilotledger import` on the same file again writes nothing unless --force.
CREATE TABLE imported_files (
    org_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, sha256)
);
