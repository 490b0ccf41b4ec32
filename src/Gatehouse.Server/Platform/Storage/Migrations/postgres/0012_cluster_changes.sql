-- Every committed change's audit actions, for the other nodes sharing this database: each one
-- LISTENs for a wake-up (pg_notify from the same transaction) and reads the rows after the last
-- sequence number it saw, then evicts what its caches hold about them. Pruned after an hour.
CREATE TABLE cluster_changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node       text NOT NULL,
    action     text NOT NULL,
    org_id     text NULL,
    target_id  text NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ix_cluster_changes_created ON cluster_changes (created_at);
