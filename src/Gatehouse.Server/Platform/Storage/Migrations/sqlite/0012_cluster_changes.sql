-- Cross-node cache invalidations (see the PostgreSQL migration). A SQLite database has one node,
-- so nothing writes here; the table exists so that both providers share one schema.
CREATE TABLE cluster_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    node       TEXT NOT NULL,
    action     TEXT NOT NULL,
    org_id     TEXT NULL,
    target_id  TEXT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_cluster_changes_created ON cluster_changes (created_at);
