-- A case's server version is kept in base_cases only while this device has work on it (pending
-- operations, or confirmed ones the server's version does not show yet): the replay needs it
-- then, and only then. Otherwise the local view *is* the server's version, and `server_seq`
-- says at which feed sequence; the first local operation on such a case copies the view into
-- base_cases (xuncha_core::store::cases). NULL when the view holds local work or the case was
-- never pulled. Rows kept before this schema stay: a base the replay does not need is harmless.
ALTER TABLE cases ADD COLUMN server_seq INTEGER;
UPDATE cases SET server_seq = (SELECT b.seq FROM base_cases b WHERE b.id = cases.id);
