-- Users and their login sessions (API.md §8). A user belongs to one organization, or to none
-- (a platform administrator). Passwords are stored only as a versioned Argon2id string; session
-- tokens only as their keyed hash.
CREATE TABLE users (
    id               text PRIMARY KEY,
    org_id           text NULL REFERENCES organizations (id),
    email            text NOT NULL,
    -- '<org id or "platform">/<normalised email>': unique, so an address is taken once per organization.
    email_key        text NOT NULL,
    name             text NOT NULL,
    password_hash    text NULL,
    roles            text NOT NULL,
    permissions      text NOT NULL,
    disabled         boolean NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_login_at    timestamptz NULL,
    password_changed_at timestamptz NULL,
    version          bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_users_email_key ON users (email_key);
CREATE INDEX ix_users_org_created ON users (org_id, created_at, id);

CREATE TABLE user_sessions (
    id            text PRIMARY KEY,
    org_id        text NULL REFERENCES organizations (id),
    user_id       text NOT NULL REFERENCES users (id),
    hash          text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    idle_timeout_seconds integer NOT NULL,
    ip            text NULL,
    user_agent    text NULL,
    ended_at      timestamptz NULL
);
CREATE UNIQUE INDEX ux_user_sessions_hash ON user_sessions (hash);
CREATE INDEX ix_user_sessions_user_created ON user_sessions (user_id, created_at, id);
