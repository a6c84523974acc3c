-- The ranking, the bulletin and the daily charts read SQL, not every case and timeline
-- (xuncha_core::kpi::CaseFacts and DayFacts; sync-server/src/store/period.rs): each event's
-- action and the status it left, each case's extensions and site, in columns written with them.
ALTER TABLE events ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN to_status TEXT NOT NULL DEFAULT '';
UPDATE events SET
    action = COALESCE(json_extract(event, '$.op.body.kind'), ''),
    to_status = COALESCE(json_extract(event, '$.to_status'), '');
-- What happened in a period, and to which cases (covering).
CREATE INDEX events_by_time ON events(server_time_ms, action, case_id);

ALTER TABLE cases ADD COLUMN extension_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN site_id TEXT;
UPDATE cases SET
    extension_count = COALESCE(json_extract(doc, '$.extension_count'), 0),
    site_id = json_extract(doc, '$.site_id');
CREATE INDEX cases_by_reported ON cases(reported_ms, site_id);
CREATE INDEX cases_by_received ON cases(received_ms);
CREATE INDEX cases_by_deadline ON cases(deadline_ms);
