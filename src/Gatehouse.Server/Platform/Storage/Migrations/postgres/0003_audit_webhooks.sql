-- Audit queries and signed webhooks: endpoints, the delivery outbox, and every attempt.
CREATE INDEX ix_audit_events_time ON audit_events (occurred_at, id);
CREATE INDEX ix_audit_events_org_action ON audit_events (org_id, action);
CREATE INDEX ix_audit_events_org_target ON audit_events (org_id, target_id);
CREATE INDEX ix_audit_events_org_actor ON audit_events (org_id, actor_id);

CREATE TABLE webhook_endpoints (
    id                       text PRIMARY KEY,
    org_id                   text NOT NULL REFERENCES organizations (id),
    url                      text NOT NULL,
    description              text NULL,
    events                   text NOT NULL,
    enabled                  boolean NOT NULL,
    disabled_reason          text NULL,
    sealed_secret            bytea NOT NULL,
    previous_sealed_secret   bytea NULL,
    previous_secret_until    timestamptz NULL,
    failing_since            timestamptz NULL,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL
);
CREATE INDEX ix_webhook_endpoints_org ON webhook_endpoints (org_id, created_at, id);

-- The outbox: one row per (event, endpoint), written in the transaction of the change.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    org_id           text NOT NULL,
    endpoint_id      text NOT NULL,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    payload          text NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL,
    next_attempt_at  timestamptz NULL,
    locked_until     timestamptz NULL,
    last_status_code integer NULL,
    last_attempt_at  timestamptz NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_attempts (
    id               text PRIMARY KEY,
    delivery_id      text NOT NULL,
    endpoint_id      text NOT NULL,
    attempt          integer NOT NULL,
    attempted_at     timestamptz NOT NULL,
    status_code      integer NULL,
    latency_ms       integer NOT NULL,
    response_excerpt text NULL,
    error            text NULL,
    succeeded        boolean NOT NULL
);
CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
