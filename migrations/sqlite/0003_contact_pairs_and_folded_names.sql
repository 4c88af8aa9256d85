-- Two fixes found by the contacts and search tests.
-- Same shape as migrations/postgres/0003_contact_pairs_and_folded_names.sql.

-- One contact row per pair of people, whichever of them asked: two people asking each other at
-- the same moment must not leave two pending requests. Any such pair left by earlier versions
-- keeps its accepted row, or else its older one.
DELETE FROM contacts WHERE EXISTS (
    SELECT 1 FROM contacts d
    WHERE d.user_id = contacts.contact_id AND d.contact_id = contacts.user_id
      AND ((d.status = 'accepted' AND contacts.status <> 'accepted')
           OR (d.status = contacts.status AND d.id < contacts.id)));
CREATE UNIQUE INDEX contacts_pair ON contacts (min(user_id, contact_id), max(user_id, contact_id));

-- Display names lower-cased by the server (full Unicode), for search: SQLite's lower() and LIKE
-- only fold ASCII, so "Élodie" could not even be found by typing "Élodie". Rows written before
-- this migration get SQLite's ASCII folding until their next profile edit.
ALTER TABLE users ADD COLUMN display_name_folded TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name_folded = lower(display_name);
