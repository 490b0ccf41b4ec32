-- Per-identifier overrides of the standalone rate limiter, and stored responses of idempotent POSTs.
CREATE TABLE ratelimit_overrides (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    namespace   text NOT NULL,
    identifier  text NOT NULL,
    "limit"     bigint NOT NULL,
    duration_ms bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_ratelimit_overrides_key ON ratelimit_overrides (org_id, namespace, identifier);

-- One row per (scope, key): inserted as in_progress before the handler runs (so a concurrent
-- duplicate finds it), completed with the sealed response, deleted when the request failed.
CREATE TABLE idempotency_records (
    scope        text NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status_code  integer NULL,
    sealed_body  bytea NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX ix_idempotency_records_created ON idempotency_records (created_at);
