-- messages_file finds the messages that carry a file (who may download it, whether it is still in
-- use). It indexed every message, most of which carry none, so every send wrote one more index
-- entry. Now it holds only the messages with a file; lookups by file_id still use it, since
-- `file_id = x` is never true of a row without one.
DROP INDEX messages_file;
CREATE INDEX messages_file ON messages(file_id) WHERE file_id IS NOT NULL;
