-- API keys (API.md §4): only the hash and the displayable start of a key are stored.
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    name           TEXT NOT NULL,
    hash           TEXT NOT NULL,
    start          TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    permissions    TEXT NOT NULL,
    roles          TEXT NOT NULL,
    enabled        INTEGER NOT NULL,
    expires_at     TEXT NULL,
    owner_id       TEXT NULL,
    meta           TEXT NULL,
    remaining      INTEGER NULL,
    refill         TEXT NULL,
    last_refill_at TEXT NULL,
    ratelimits     TEXT NOT NULL,
    ip_allowlist   TEXT NOT NULL,
    rotated_from   TEXT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_used_at   TEXT NULL,
    revoked_at     TEXT NULL
);
CREATE UNIQUE INDEX ux_api_keys_hash ON api_keys (hash);
CREATE INDEX ix_api_keys_org_created ON api_keys (org_id, created_at, id);

-- Verification counts per key, hour and outcome code; written in batches by the usage flush.
-- key_id is '' for NOT_FOUND outcomes, which belong to the verifying organization only.
CREATE TABLE api_key_usage (
    key_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    code   TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key_id, bucket, code)
);
CREATE INDEX ix_api_key_usage_org_bucket ON api_key_usage (org_id, bucket);
