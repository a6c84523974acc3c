-- Who found a problem weighs in the unit's score by the level of the reporter's area
-- (core's kpi::Finder): the area is kept on the case when it is reported, so a reporter who
-- later moves to another area leaves past figures as they were. Cases kept before take their
-- reporter's area now.
ALTER TABLE cases ADD COLUMN reporter_area TEXT;
UPDATE cases SET reporter_area = (SELECT area_id FROM users WHERE users.id = cases.reporter_id);
