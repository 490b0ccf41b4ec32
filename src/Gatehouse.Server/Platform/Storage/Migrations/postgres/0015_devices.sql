-- Devices and device-bound sessions (API.md §9). Device keys are public keys; every token, refresh
-- token and challenge nonce is stored only as its keyed hash.
CREATE TABLE device_apps (
    id                    text PRIMARY KEY,
    org_id                text NOT NULL REFERENCES organizations (id),
    name                  text NOT NULL,
    redirect_urls         text NOT NULL,
    allowed_origins       text NOT NULL,
    session_ttl_seconds   integer NOT NULL,
    proof_max_age_seconds integer NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_device_apps_org_name ON device_apps (org_id, name);
CREATE INDEX ix_device_apps_org_created ON device_apps (org_id, created_at, id);

CREATE TABLE devices (
    id             text PRIMARY KEY,
    org_id         text NOT NULL REFERENCES organizations (id),
    app_id         text NOT NULL,
    user_id        text NOT NULL,
    name           text NULL,
    public_key_jwk text NOT NULL,
    key_thumbprint text NOT NULL,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NULL,
    revoked_at     timestamptz NULL,
    version        bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_devices_app_thumbprint ON devices (app_id, key_thumbprint);
CREATE INDEX ix_devices_org_created ON devices (org_id, created_at, id);
CREATE INDEX ix_devices_org_user ON devices (org_id, user_id);

CREATE TABLE device_sessions (
    id                  text PRIMARY KEY,
    org_id              text NOT NULL REFERENCES organizations (id),
    app_id              text NOT NULL,
    user_id             text NOT NULL,
    device_id           text NOT NULL,
    external_session_id text NULL,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    ended_at            timestamptz NULL,
    end_reason          text NULL,
    version             bigint NOT NULL DEFAULT 0
);
CREATE INDEX ix_device_sessions_device ON device_sessions (device_id);
CREATE INDEX ix_device_sessions_org_created ON device_sessions (org_id, created_at, id);

CREATE TABLE device_refresh_tokens (
    hash       text PRIMARY KEY,
    org_id     text NOT NULL,
    session_id text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);
CREATE INDEX ix_device_refresh_tokens_session ON device_refresh_tokens (session_id);

CREATE TABLE device_auth_requests (
    id                  text PRIMARY KEY,
    org_id              text NOT NULL,
    app_id              text NOT NULL,
    user_id             text NOT NULL,
    external_session_id text NULL,
    redirect_url        text NOT NULL,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    device_id           text NULL,
    new_device          boolean NOT NULL DEFAULT false,
    token_hash          text NULL,
    token_expires_at    timestamptz NULL,
    completed_at        timestamptz NULL,
    used_at             timestamptz NULL
);
CREATE UNIQUE INDEX ux_device_auth_requests_token ON device_auth_requests (token_hash);
CREATE INDEX ix_device_auth_requests_expires ON device_auth_requests (expires_at);

CREATE TABLE device_challenges (
    hash       text PRIMARY KEY,
    org_id     text NOT NULL,
    app_id     text NOT NULL,
    request_id text NULL,
    session_id text NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz NULL
);
CREATE INDEX ix_device_challenges_expires ON device_challenges (expires_at);
