-- Single sign-on through an organization's OpenID Connect provider (docs/sso.md).
--
-- sso_settings: one row per organization. The client secret is sealed under the organization's data
-- key (key_version keeps that version alive) and never read back out through the API.
-- configured_with holds the platform permissions of whoever last saved the settings: a first login
-- never links an existing user who holds more than that (decision 0024).
CREATE TABLE sso_settings (
    org_id              text    PRIMARY KEY REFERENCES organizations (id),
    enabled             boolean NOT NULL,
    issuer              text    NOT NULL,
    client_id           text    NOT NULL,
    sealed_client_secret bytea  NOT NULL,
    key_version         integer NOT NULL,
    scopes              text    NOT NULL,
    role_claim          text    NOT NULL,
    role_mappings       text    NOT NULL,
    default_roles       text    NOT NULL,
    default_permissions text    NOT NULL,
    configured_with     text    NOT NULL,
    created_at          timestamptz    NOT NULL,
    updated_at          timestamptz    NOT NULL,
    version             bigint NOT NULL DEFAULT 0
);

-- A login in flight: the keyed hash of its state (never the state), the hash of the browser binding
-- cookie, where to go afterwards. Used once (used_at), dead after expires_at.
CREATE TABLE sso_login_states (
    id           text PRIMARY KEY,
    org_id       text NOT NULL,
    issuer       text NOT NULL,
    browser_hash text NOT NULL,
    return_to    text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz NULL
);
CREATE INDEX ix_sso_login_states_expires_at ON sso_login_states (expires_at);

-- Which user an identity of a provider is: (issuer, subject) is the stable key, the email may change.
CREATE TABLE user_identities (
    org_id        text NOT NULL REFERENCES organizations (id),
    issuer        text NOT NULL,
    subject       text NOT NULL,
    user_id       text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, issuer, subject)
);
CREATE INDEX ix_user_identities_user ON user_identities (user_id);
