-- The credentials vault: data keys wrapped by the master key, credentials, and their sealed versions.
CREATE TABLE data_keys (
    org_id      text NOT NULL,
    version     integer NOT NULL,
    wrapped_key bytea NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE credentials (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES organizations (id),
    integration_id  text NOT NULL,
    name            text NOT NULL,
    auth_type       text NOT NULL,
    metadata        text NULL,
    expires_at      timestamptz NULL,
    current_version integer NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX ix_credentials_org_integration ON credentials (org_id, integration_id);

CREATE TABLE credential_versions (
    credential_id text NOT NULL,
    org_id        text NOT NULL,
    version       integer NOT NULL,
    key_version   integer NOT NULL,
    ciphertext    bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (credential_id, version)
);
CREATE INDEX ix_credential_versions_org_key ON credential_versions (org_id, key_version);
