-- Credential ownership: a key whose owner (a user or service account) is disabled stops without
-- losing its own enabled flag, so enabling the owner again restores exactly what was there.
ALTER TABLE api_keys ADD COLUMN owner_suspended INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_api_keys_org_owner ON api_keys (org_id, owner_id);

-- Service accounts (API.md §8): non-human actors of an organization that own API keys.
CREATE TABLE service_accounts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    description TEXT NULL,
    permissions TEXT NOT NULL,
    disabled    INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_service_accounts_org_name ON service_accounts (org_id, name);
CREATE INDEX ix_service_accounts_org_created ON service_accounts (org_id, created_at, id);
