-- The credentials vault: data keys wrapped by the master key, credentials, and their sealed versions.
CREATE TABLE data_keys (
    org_id      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    wrapped_key BLOB NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    integration_id  TEXT NOT NULL,
    name            TEXT NOT NULL,
    auth_type       TEXT NOT NULL,
    metadata        TEXT NULL,
    expires_at      TEXT NULL,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX ix_credentials_org_integration ON credentials (org_id, integration_id);

CREATE TABLE credential_versions (
    credential_id TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    key_version   INTEGER NOT NULL,
    ciphertext    BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (credential_id, version)
);
CREATE INDEX ix_credential_versions_org_key ON credential_versions (org_id, key_version);
