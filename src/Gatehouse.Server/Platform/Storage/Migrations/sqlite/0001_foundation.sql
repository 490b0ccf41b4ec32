-- Foundation: tenancy, roles, audit trail, root keys, server secrets.
CREATE TABLE server_secrets (
    name         TEXT PRIMARY KEY,
    sealed_value BLOB NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE root_keys (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    start      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    slug       TEXT NULL,
    settings   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT NULL
);
CREATE UNIQUE INDEX ux_organizations_slug ON organizations (slug) WHERE slug IS NOT NULL;
CREATE INDEX ix_organizations_created ON organizations (created_at, id);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    description TEXT NULL,
    permissions TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_roles_org_name ON roles (org_id, name);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    action      TEXT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    target_type TEXT NULL,
    target_id   TEXT NULL,
    ip          TEXT NULL,
    user_agent  TEXT NULL,
    request_id  TEXT NULL,
    occurred_at TEXT NOT NULL,
    changes     TEXT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
-- One sequence per organization: a second writer of the same position fails instead of forking the chain.
CREATE UNIQUE INDEX ux_audit_events_org_seq ON audit_events (org_id, seq);
CREATE INDEX ix_audit_events_org_time ON audit_events (org_id, occurred_at);
