-- Uploaded files. The bytes live in blob storage under `files/<id>` (and `thumbs/<id>`), never
-- under the uploader's name. Same shape as migrations/postgres/0004_files.sql.

CREATE TABLE files (
    id             TEXT PRIMARY KEY,
    uploader_id    TEXT NOT NULL REFERENCES users(id),
    -- The name the uploader gave, for Content-Disposition only.
    name           TEXT NOT NULL,
    mime_type      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    size           INTEGER NOT NULL,
    width          INTEGER,
    height         INTEGER,
    duration_ms    INTEGER,
    -- Type of the generated thumbnail; null when there is none.
    thumbnail_mime TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX files_uploader ON files(uploader_id);
CREATE INDEX files_created ON files(created_at);
CREATE INDEX messages_file ON messages(file_id);
