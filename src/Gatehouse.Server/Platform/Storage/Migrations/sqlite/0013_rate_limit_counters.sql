-- Nothing to create: a SQLite database is one node's file, so its rate-limit windows are counted
-- in memory (exact and free of I/O). PostgreSQL creates the shared counter table under this number
-- (decision 0015); both providers keep the same migration versions.
SELECT 1;
