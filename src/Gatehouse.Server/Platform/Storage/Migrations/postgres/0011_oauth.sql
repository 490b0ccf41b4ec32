-- OAuth 2.0 clients (API.md §7): the client-credentials grant, secrets stored as keyed hashes.
CREATE TABLE oauth_clients (
    id                         text PRIMARY KEY,
    org_id                     text NOT NULL REFERENCES organizations (id),
    name                       text NOT NULL,
    description                text NULL,
    scopes                     text NOT NULL,
    token_ttl_seconds          integer NOT NULL,
    auth_method                text NOT NULL,
    signing_algorithm          text NOT NULL,
    jwks                       text NULL,
    jwks_uri                   text NULL,
    secret_hash                text NULL,
    previous_secret_hash       text NULL,
    previous_secret_expires_at timestamptz NULL,
    service_account_id         text NULL,
    owner_id                   text NULL,
    owner_suspended            boolean NOT NULL DEFAULT false,
    disabled                   boolean NOT NULL,
    token_generation           integer NOT NULL DEFAULT 0,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    version                    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_oauth_clients_org_name ON oauth_clients (org_id, name);
CREATE INDEX ix_oauth_clients_org_created ON oauth_clients (org_id, created_at, id);
CREATE INDEX ix_oauth_clients_org_owner ON oauth_clients (org_id, owner_id);

-- The platform's token-signing keys, private parts sealed under the master key. A key signs from
-- activates_at until a newer key of its algorithm activates; it stays published until the longest
-- token it can have signed has expired.
CREATE TABLE oauth_signing_keys (
    kid          text PRIMARY KEY,
    algorithm    text NOT NULL,
    sealed_key   bytea NOT NULL,
    public_jwk   text NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL
);

-- Revoked access tokens, kept until they would have expired anyway.
CREATE TABLE oauth_revoked_tokens (
    jti        text PRIMARY KEY,
    org_id     text NOT NULL,
    client_id  text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX ix_oauth_revoked_tokens_expires ON oauth_revoked_tokens (expires_at);

-- private_key_jwt assertions already used (RFC 7523: a jti is single-use), until they expire.
CREATE TABLE oauth_used_assertions (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX ix_oauth_used_assertions_expires ON oauth_used_assertions (expires_at);
