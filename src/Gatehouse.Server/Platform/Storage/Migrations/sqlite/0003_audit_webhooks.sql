-- Audit queries and signed webhooks: endpoints, the delivery outbox, and every attempt.
CREATE INDEX ix_audit_events_time ON audit_events (occurred_at, id);
CREATE INDEX ix_audit_events_org_action ON audit_events (org_id, action);
CREATE INDEX ix_audit_events_org_target ON audit_events (org_id, target_id);
CREATE INDEX ix_audit_events_org_actor ON audit_events (org_id, actor_id);

CREATE TABLE webhook_endpoints (
    id                       TEXT PRIMARY KEY,
    org_id                   TEXT NOT NULL REFERENCES organizations (id),
    url                      TEXT NOT NULL,
    description              TEXT NULL,
    events                   TEXT NOT NULL,
    enabled                  INTEGER NOT NULL,
    disabled_reason          TEXT NULL,
    sealed_secret            BLOB NOT NULL,
    previous_sealed_secret   BLOB NULL,
    previous_secret_until    TEXT NULL,
    failing_since            TEXT NULL,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX ix_webhook_endpoints_org ON webhook_endpoints (org_id, created_at, id);

-- The outbox: one row per (event, endpoint), written in the transaction of the change.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT NULL,
    locked_until     TEXT NULL,
    last_status_code INTEGER NULL,
    last_attempt_at  TEXT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    attempted_at     TEXT NOT NULL,
    status_code      INTEGER NULL,
    latency_ms       INTEGER NOT NULL,
    response_excerpt TEXT NULL,
    error            TEXT NULL,
    succeeded        INTEGER NOT NULL
);
CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
