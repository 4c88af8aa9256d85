-- Full-text search, rebuilt for speed at a million messages.
--
-- 1. The index is no longer written by the statement that stores a message: the writer indexes
--    new messages in bulk right after their commit (and before any search), so a send's
--    acknowledgement waits for the message row, not for FTS5. `search_pending` holds the rowids
--    of stored messages whose words are not in `messages_fts` yet; the delete and update
--    triggers touch the index only for rows that are in it (an FTS5 'delete' of words never
--    added would corrupt it).
-- 2. The index also holds each message's chat, as one token (the id without its hyphens), so a
--    search narrows to the searcher's chats inside FTS5 instead of joining every match.
--
-- The old index is dropped and every message queued again: the server rebuilds it in chunks
-- while idle (a search waits for the rest), so this migration stays instant on a big database.

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;

CREATE VIEW messages_search_source AS
    SELECT rowid AS message_rowid, content, replace(chat_id, '-', '') AS chat FROM messages;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, chat,
    content = 'messages_search_source', content_rowid = 'message_rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE search_pending (message_rowid INTEGER PRIMARY KEY);
INSERT INTO search_pending (message_rowid) SELECT rowid FROM messages;

CREATE TRIGGER messages_search_pending AFTER INSERT ON messages BEGIN
    INSERT INTO search_pending (message_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content, chat)
        SELECT 'delete', old.rowid, old.content, replace(old.chat_id, '-', '')
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE message_rowid = old.rowid);
    DELETE FROM search_pending WHERE message_rowid = old.rowid;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE message_rowid = old.rowid) BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content, chat)
        VALUES ('delete', old.rowid, old.content, replace(old.chat_id, '-', ''));
    INSERT INTO messages_fts (rowid, content, chat)
        VALUES (new.rowid, new.content, replace(new.chat_id, '-', ''));
END;
