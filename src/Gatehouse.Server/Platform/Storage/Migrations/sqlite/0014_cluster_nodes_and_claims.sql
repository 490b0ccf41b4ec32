-- Nodes sharing the database: each writes its row every few seconds (Gatehouse:Cluster), so a node
-- silent for longer than the node timeout is dead, and its in-progress idempotent requests can be
-- taken over. Rows of nodes silent for an hour are deleted.
CREATE TABLE cluster_nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

-- A dispatcher's claim on a delivery: a random token and a short lease (locked_until) that the
-- holder renews while it sends. A result is recorded only while the token is still in place.
ALTER TABLE webhook_deliveries ADD COLUMN claim_token TEXT NULL;

-- The node running an idempotent request and until when it may: a dead owner's or an expired lease
-- is taken over. committed is set in the transaction of the request's change, so a request whose
-- change committed is never executed again, even when its response was lost.
ALTER TABLE idempotency_records ADD COLUMN owner_node TEXT NULL;
ALTER TABLE idempotency_records ADD COLUMN lease_expires_at TEXT NULL;
ALTER TABLE idempotency_records ADD COLUMN committed INTEGER NOT NULL DEFAULT 0;
-- Requests in progress during the upgrade were started by nodes that never mark committed: their
-- records may be taken over at once (until now they blocked their key for 24 h).
UPDATE idempotency_records SET lease_expires_at = created_at WHERE status_code IS NULL;
