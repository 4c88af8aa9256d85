-- Sync asks for the messages of a member's chats changed since a point. It used an index on
-- (chat_id, updated_at) of every message, so every send wrote one more randomly placed index
-- page (a chat's place among all chats). New messages are found through messages_chat_time
-- (created_at) instead, and this index holds only the messages changed after they were sent
-- (edited, deleted, reacted to): a send no longer touches it.
DROP INDEX messages_chat_updated;
CREATE INDEX messages_chat_changed ON messages(chat_id, updated_at) WHERE updated_at > created_at;
