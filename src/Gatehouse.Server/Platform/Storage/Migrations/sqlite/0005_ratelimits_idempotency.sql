-- Per-identifier overrides of the standalone rate limiter, and stored responses of idempotent POSTs.
CREATE TABLE ratelimit_overrides (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    namespace   TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    "limit"     INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_ratelimit_overrides_key ON ratelimit_overrides (org_id, namespace, identifier);

-- One row per (scope, key): inserted as in_progress before the handler runs (so a concurrent
-- duplicate finds it), completed with the sealed response, deleted when the request failed.
CREATE TABLE idempotency_records (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NULL,
    sealed_body  BLOB NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX ix_idempotency_records_created ON idempotency_records (created_at);
