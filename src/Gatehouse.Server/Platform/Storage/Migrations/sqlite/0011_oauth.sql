-- OAuth 2.0 clients (API.md §7): the client-credentials grant, secrets stored as keyed hashes.
CREATE TABLE oauth_clients (
    id                         TEXT PRIMARY KEY,
    org_id                     TEXT NOT NULL REFERENCES organizations (id),
    name                       TEXT NOT NULL,
    description                TEXT NULL,
    scopes                     TEXT NOT NULL,
    token_ttl_seconds          INTEGER NOT NULL,
    auth_method                TEXT NOT NULL,
    signing_algorithm          TEXT NOT NULL,
    jwks                       TEXT NULL,
    jwks_uri                   TEXT NULL,
    secret_hash                TEXT NULL,
    previous_secret_hash       TEXT NULL,
    previous_secret_expires_at TEXT NULL,
    service_account_id         TEXT NULL,
    owner_id                   TEXT NULL,
    owner_suspended            INTEGER NOT NULL DEFAULT 0,
    disabled                   INTEGER NOT NULL,
    token_generation           INTEGER NOT NULL DEFAULT 0,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    version                    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_oauth_clients_org_name ON oauth_clients (org_id, name);
CREATE INDEX ix_oauth_clients_org_created ON oauth_clients (org_id, created_at, id);
CREATE INDEX ix_oauth_clients_org_owner ON oauth_clients (org_id, owner_id);

-- The platform's token-signing keys, private parts sealed under the master key. A key signs from
-- activates_at until a newer key of its algorithm activates; it stays published until the longest
-- token it can have signed has expired.
CREATE TABLE oauth_signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    sealed_key   BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    activates_at TEXT NOT NULL
);

-- Revoked access tokens, kept until they would have expired anyway.
CREATE TABLE oauth_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX ix_oauth_revoked_tokens_expires ON oauth_revoked_tokens (expires_at);

-- private_key_jwt assertions already used (RFC 7523: a jti is single-use), until they expire.
CREATE TABLE oauth_used_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX ix_oauth_used_assertions_expires ON oauth_used_assertions (expires_at);
