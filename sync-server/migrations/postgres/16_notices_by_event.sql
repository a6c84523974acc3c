-- The deadline watch asks, every minute, which of the warnings it could raise were raised
-- already, and writes only the new ones (sync-server/src/notices/raise.rs): by event id, on the
-- copies as on the outbox (whose key starts with it).
CREATE INDEX notices_by_event ON notices(event_id);
