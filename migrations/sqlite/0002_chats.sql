-- Chats, members, messages and what hangs off them (reactions, stars, pins, receipts).
-- Same shape as migrations/postgres/0002_chats.sql; full-text search is FTS5 here.

CREATE TABLE chats (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    name             TEXT,
    description      TEXT,
    avatar_url       TEXT,
    created_by       TEXT NOT NULL REFERENCES users(id),
    -- "<smaller user id>:<larger user id>" for one-on-one chats: at most one per pair.
    direct_key       TEXT UNIQUE,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- Time of the newest message; also the per-chat clock that orders messages.
    last_message_at  INTEGER NOT NULL
);

CREATE TABLE chat_members (
    id                  TEXT NOT NULL UNIQUE,
    chat_id             TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id             TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role                TEXT NOT NULL DEFAULT 'member',
    joined_at           INTEGER NOT NULL,
    -- Read and delivery watermarks: every message created at or before them is read/delivered.
    last_read_at        INTEGER,
    last_delivered_at   INTEGER,
    muted               INTEGER NOT NULL DEFAULT 0,
    muted_until         INTEGER,
    archived            INTEGER NOT NULL DEFAULT 0,
    pinned              INTEGER NOT NULL DEFAULT 0,
    -- A one-on-one chat "deleted for me": hidden until a new message, history before this hidden.
    hidden              INTEGER NOT NULL DEFAULT 0,
    cleared_at          INTEGER,
    settings_updated_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_members_user ON chat_members(user_id);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    chat_id      TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender_id    TEXT NOT NULL REFERENCES users(id),
    client_id    TEXT,
    content      TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL,
    file_id      TEXT,
    reply_to_id  TEXT,
    forwarded    INTEGER NOT NULL DEFAULT 0,
    edited_at    INTEGER,
    deleted_at   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX messages_chat_time ON messages(chat_id, created_at, id);
CREATE INDEX messages_chat_updated ON messages(chat_id, updated_at);
CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_id) WHERE client_id IS NOT NULL;

-- Messages a person deleted "for me".
CREATE TABLE hidden_messages (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    hidden_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

CREATE TABLE reactions (
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    emoji       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE stars (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, message_id)
);

CREATE TABLE pins (
    chat_id     TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by   TEXT NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- Each time a member's read or delivery watermark moved: who, which kind, up to when, at what time.
-- A message's receipts are, per member, the first advance that covers it.
CREATE TABLE receipt_marks (
    chat_id     TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    up_to       INTEGER NOT NULL,
    marked_at   INTEGER NOT NULL
);
CREATE INDEX receipt_marks_lookup ON receipt_marks(chat_id, kind, up_to);

CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
END;
