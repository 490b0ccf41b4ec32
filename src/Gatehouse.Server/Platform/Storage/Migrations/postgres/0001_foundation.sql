-- Foundation: tenancy, roles, audit trail, root keys, server secrets.
CREATE TABLE server_secrets (
    name         text PRIMARY KEY,
    sealed_value bytea NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE root_keys (
    id         text PRIMARY KEY,
    hash       text NOT NULL UNIQUE,
    start      text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz NULL
);

CREATE TABLE organizations (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    slug       text NULL,
    settings   text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz NULL
);
CREATE UNIQUE INDEX ux_organizations_slug ON organizations (slug) WHERE slug IS NOT NULL;
CREATE INDEX ix_organizations_created ON organizations (created_at, id);

CREATE TABLE roles (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    description text NULL,
    permissions text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_roles_org_name ON roles (org_id, name);

CREATE TABLE audit_events (
    id          text PRIMARY KEY,
    org_id      text NOT NULL,
    seq         bigint NOT NULL,
    action      text NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL,
    target_type text NULL,
    target_id   text NULL,
    ip          text NULL,
    user_agent  text NULL,
    request_id  text NULL,
    occurred_at timestamptz NOT NULL,
    changes     text NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
-- One sequence per organization: a second writer of the same position fails instead of forking the chain.
CREATE UNIQUE INDEX ux_audit_events_org_seq ON audit_events (org_id, seq);
CREATE INDEX ix_audit_events_org_time ON audit_events (org_id, occurred_at);
