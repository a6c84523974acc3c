-- The weekly bulletin's issue numbers (第N期), per city and year: a period's number is fixed the
-- first time its bulletin is downloaded, so every later download of it says the same, and the
-- next period gets the next number (sync-server/src/console/bulletin/).
CREATE TABLE bulletin_issues (
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    year BIGINT NOT NULL,
    number BIGINT NOT NULL,
    issued_ms BIGINT NOT NULL,
    PRIMARY KEY (period_from, period_to),
    UNIQUE (year, number)
);
