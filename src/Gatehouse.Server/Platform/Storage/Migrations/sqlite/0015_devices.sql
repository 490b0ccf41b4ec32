-- Devices and device-bound sessions (API.md §9). Device keys are public keys; every token, refresh
-- token and challenge nonce is stored only as its keyed hash.
CREATE TABLE device_apps (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organizations (id),
    name                  TEXT NOT NULL,
    redirect_urls         TEXT NOT NULL,
    allowed_origins       TEXT NOT NULL,
    session_ttl_seconds   INTEGER NOT NULL,
    proof_max_age_seconds INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    version               INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_device_apps_org_name ON device_apps (org_id, name);
CREATE INDEX ix_device_apps_org_created ON device_apps (org_id, created_at, id);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    app_id         TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    name           TEXT NULL,
    public_key_jwk TEXT NOT NULL,
    key_thumbprint TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NULL,
    revoked_at     TEXT NULL,
    version        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_devices_app_thumbprint ON devices (app_id, key_thumbprint);
CREATE INDEX ix_devices_org_created ON devices (org_id, created_at, id);
CREATE INDEX ix_devices_org_user ON devices (org_id, user_id);

CREATE TABLE device_sessions (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    app_id              TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    device_id           TEXT NOT NULL,
    external_session_id TEXT NULL,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL,
    ended_at            TEXT NULL,
    end_reason          TEXT NULL,
    version             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_device_sessions_device ON device_sessions (device_id);
CREATE INDEX ix_device_sessions_org_created ON device_sessions (org_id, created_at, id);

CREATE TABLE device_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT NULL
);
CREATE INDEX ix_device_refresh_tokens_session ON device_refresh_tokens (session_id);

CREATE TABLE device_auth_requests (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL,
    app_id              TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    external_session_id TEXT NULL,
    redirect_url        TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL,
    device_id           TEXT NULL,
    new_device          INTEGER NOT NULL DEFAULT 0,
    token_hash          TEXT NULL,
    token_expires_at    TEXT NULL,
    completed_at        TEXT NULL,
    used_at             TEXT NULL
);
CREATE UNIQUE INDEX ux_device_auth_requests_token ON device_auth_requests (token_hash);
CREATE INDEX ix_device_auth_requests_expires ON device_auth_requests (expires_at);

CREATE TABLE device_challenges (
    hash       TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    request_id TEXT NULL,
    session_id TEXT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT NULL
);
CREATE INDEX ix_device_challenges_expires ON device_challenges (expires_at);
