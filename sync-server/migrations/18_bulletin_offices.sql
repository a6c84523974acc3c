-- Each office numbers its own bulletins (issue 16's levels): a district's office issues its
-- 第N期 in its own sequence, as the city's office does. `office` is the area the bulletin is
-- for ('' for the city). The table is rebuilt with the office in both keys; the numbers given
-- before are the city's.
CREATE TABLE bulletin_issues_by_office (
    office TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    year INTEGER NOT NULL,
    number INTEGER NOT NULL,
    issued_ms INTEGER NOT NULL,
    PRIMARY KEY (office, period_from, period_to),
    UNIQUE (office, year, number)
);
INSERT INTO bulletin_issues_by_office (office, period_from, period_to, year, number, issued_ms)
SELECT '', period_from, period_to, year, number, issued_ms FROM bulletin_issues;
DROP TABLE bulletin_issues;
ALTER TABLE bulletin_issues_by_office RENAME TO bulletin_issues;
