-- Users and their login sessions (API.md §8). A user belongs to one organization, or to none
-- (a platform administrator). Passwords are stored only as a versioned Argon2id string; session
-- tokens only as their keyed hash.
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NULL REFERENCES organizations (id),
    email            TEXT NOT NULL,
    -- '<org id or "platform">/<normalised email>': unique, so an address is taken once per organization.
    email_key        TEXT NOT NULL,
    name             TEXT NOT NULL,
    password_hash    TEXT NULL,
    roles            TEXT NOT NULL,
    permissions      TEXT NOT NULL,
    disabled         INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_login_at    TEXT NULL,
    password_changed_at TEXT NULL,
    version          INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_users_email_key ON users (email_key);
CREATE INDEX ix_users_org_created ON users (org_id, created_at, id);

CREATE TABLE user_sessions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NULL REFERENCES organizations (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    hash          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    idle_timeout_seconds INTEGER NOT NULL,
    ip            TEXT NULL,
    user_agent    TEXT NULL,
    ended_at      TEXT NULL
);
CREATE UNIQUE INDEX ux_user_sessions_hash ON user_sessions (hash);
CREATE INDEX ix_user_sessions_user_created ON user_sessions (user_id, created_at, id);
