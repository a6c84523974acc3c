-- Each office numbers its own bulletins (issue 16's levels): a district's office issues its
-- 第N期 in its own sequence, as the city's office does. `office` is the area the bulletin is
-- for ('' for the city); the numbers given before are the city's.
ALTER TABLE bulletin_issues ADD COLUMN office TEXT NOT NULL DEFAULT '';
ALTER TABLE bulletin_issues DROP CONSTRAINT bulletin_issues_pkey;
ALTER TABLE bulletin_issues ADD PRIMARY KEY (office, period_from, period_to);
ALTER TABLE bulletin_issues DROP CONSTRAINT bulletin_issues_year_number_key;
ALTER TABLE bulletin_issues ADD CONSTRAINT bulletin_issues_office_year_number_key
    UNIQUE (office, year, number);
