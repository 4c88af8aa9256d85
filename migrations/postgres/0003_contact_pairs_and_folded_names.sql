-- Two fixes found by the contacts and search tests.
-- Same shape as migrations/sqlite/0003_contact_pairs_and_folded_names.sql.

-- One contact row per pair of people, whichever of them asked: two people asking each other at
-- the same moment must not leave two pending requests. Any such pair left by earlier versions
-- keeps its accepted row, or else its older one.
DELETE FROM contacts WHERE EXISTS (
    SELECT 1 FROM contacts d
    WHERE d.user_id = contacts.contact_id AND d.contact_id = contacts.user_id
      AND ((d.status = 'accepted' AND contacts.status <> 'accepted')
           OR (d.status = contacts.status AND d.id < contacts.id)));
CREATE UNIQUE INDEX contacts_pair ON contacts (LEAST(user_id, contact_id), GREATEST(user_id, contact_id));

-- Display names lower-cased by the server (full Unicode), for search, the same on both backends
-- (SQLite's lower() only folds ASCII).
ALTER TABLE users ADD COLUMN display_name_folded TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name_folded = lower(display_name);
