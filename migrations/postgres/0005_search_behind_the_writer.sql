-- Nothing changes on PostgreSQL: its full-text index is a GIN index over a generated column,
-- maintained by the insert itself (GIN's pending list already batches the work). The SQLite
-- migration of the same number moves FTS5 indexing behind the writer.
SELECT 1;
