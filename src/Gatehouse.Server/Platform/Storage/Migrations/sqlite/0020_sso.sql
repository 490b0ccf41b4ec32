-- Single sign-on through an organization's OpenID Connect provider (docs/sso.md).
--
-- sso_settings: one row per organization. The client secret is sealed under the organization's data
-- key (key_version keeps that version alive) and never read back out through the API.
-- configured_with holds the platform permissions of whoever last saved the settings: a first login
-- never links an existing user who holds more than that (decision 0024).
CREATE TABLE sso_settings (
    org_id              TEXT    PRIMARY KEY REFERENCES organizations (id),
    enabled             INTEGER NOT NULL,
    issuer              TEXT    NOT NULL,
    client_id           TEXT    NOT NULL,
    sealed_client_secret BLOB   NOT NULL,
    key_version         INTEGER NOT NULL,
    scopes              TEXT    NOT NULL,
    role_claim          TEXT    NOT NULL,
    role_mappings       TEXT    NOT NULL,
    default_roles       TEXT    NOT NULL,
    default_permissions TEXT    NOT NULL,
    configured_with     TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    version             INTEGER NOT NULL DEFAULT 0
);

-- A login in flight: the keyed hash of its state (never the state), the hash of the browser binding
-- cookie, where to go afterwards. Used once (used_at), dead after expires_at.
CREATE TABLE sso_login_states (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    return_to    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT NULL
);
CREATE INDEX ix_sso_login_states_expires_at ON sso_login_states (expires_at);

-- Which user an identity of a provider is: (issuer, subject) is the stable key, the email may change.
CREATE TABLE user_identities (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_login_at TEXT NOT NULL,
    PRIMARY KEY (org_id, issuer, subject)
);
CREATE INDEX ix_user_identities_user ON user_identities (user_id);
