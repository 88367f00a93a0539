-- Each state a pilot has been in, valid from the write that made it until
-- the next one: what `as_of` reads, so a pilot's history is data of its own,
-- not a reading of the audit log's JSON. Every pilot write (create, PATCH,
-- import, demo seed) adds the row of its new version; see db::pilot_versions.
-- Keep in step with the other backend's folder.
CREATE TABLE pilot_versions (
    org_id TEXT NOT NULL,
    pilot_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    name TEXT NOT NULL,
    business_function TEXT NOT NULL,
    sourcing TEXT NOT NULL,
    ai_kind TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_entered_on DATE NOT NULL,
    started_on DATE,
    evaluated_on DATE,
    PRIMARY KEY (org_id, pilot_id, version),
    FOREIGN KEY (org_id, pilot_id) REFERENCES pilots(org_id, id)
);

-- The backfill, once, from what was kept before this table. First the audit
-- log's snapshot after each pilot.create/pilot.update, valid from the event.
-- (A field missing from an old snapshot is taken from the current row.)
INSERT OR IGNORE INTO pilot_versions
SELECT p.org_id, p.id, json_extract(e.after_json, '$.version'), e.at,
       COALESCE(json_extract(e.after_json, '$.name'), p.name),
       COALESCE(json_extract(e.after_json, '$.business_function'), p.business_function),
       COALESCE(json_extract(e.after_json, '$.sourcing'), p.sourcing),
       COALESCE(json_extract(e.after_json, '$.ai_kind'), p.ai_kind),
       COALESCE(json_extract(e.after_json, '$.stage'), p.stage),
       COALESCE(json_extract(e.after_json, '$.stage_entered_on'), p.stage_entered_on),
       json_extract(e.after_json, '$.started_on'),
       json_extract(e.after_json, '$.evaluated_on')
FROM audit_events e
JOIN pilots p ON p.org_id = e.org_id AND p.id = e.object_id
WHERE e.object_type = 'pilot' AND e.action IN ('pilot.create', 'pilot.update')
  AND json_extract(e.after_json, '$.version') IS NOT NULL;

-- Pilots written without a create event (imported, demo-seeded) but patched
-- since: the snapshot before their first PATCH is the state they were
-- written in, valid from when they were written.
INSERT OR IGNORE INTO pilot_versions
WITH events AS (
    SELECT org_id, object_id, action, before_json,
           ROW_NUMBER() OVER (PARTITION BY org_id, object_id ORDER BY at, id) AS n,
           MAX(action = 'pilot.create') OVER (PARTITION BY org_id, object_id) AS created
    FROM audit_events
    WHERE object_type = 'pilot' AND action IN ('pilot.create', 'pilot.update')
)
SELECT p.org_id, p.id, json_extract(e.before_json, '$.version'), p.created_at,
       COALESCE(json_extract(e.before_json, '$.name'), p.name),
       COALESCE(json_extract(e.before_json, '$.business_function'), p.business_function),
       COALESCE(json_extract(e.before_json, '$.sourcing'), p.sourcing),
       COALESCE(json_extract(e.before_json, '$.ai_kind'), p.ai_kind),
       COALESCE(json_extract(e.before_json, '$.stage'), p.stage),
       COALESCE(json_extract(e.before_json, '$.stage_entered_on'), p.stage_entered_on),
       json_extract(e.before_json, '$.started_on'),
       json_extract(e.before_json, '$.evaluated_on')
FROM events e
JOIN pilots p ON p.org_id = e.org_id AND p.id = e.object_id
WHERE e.n = 1 AND e.created = 0 AND json_extract(e.before_json, '$.version') IS NOT NULL;

-- The current row, where no row above is its version: valid from when the
-- pilot was written if it has no version yet (never patched), else from its
-- last write.
INSERT OR IGNORE INTO pilot_versions
SELECT p.org_id, p.id, p.version,
       CASE WHEN EXISTS (SELECT 1 FROM pilot_versions v WHERE v.org_id = p.org_id AND v.pilot_id = p.id)
            THEN p.updated_at ELSE p.created_at END,
       p.name, p.business_function, p.sourcing, p.ai_kind, p.stage, p.stage_entered_on,
       p.started_on, p.evaluated_on
FROM pilots p
WHERE NOT EXISTS (
    SELECT 1 FROM pilot_versions v
    WHERE v.org_id = p.org_id AND v.pilot_id = p.id AND v.version = p.version);
