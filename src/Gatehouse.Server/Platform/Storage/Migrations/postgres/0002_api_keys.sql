-- API keys (API.md §4): only the hash and the displayable start of a key are stored.
CREATE TABLE api_keys (
    id             text PRIMARY KEY,
    org_id         text NOT NULL REFERENCES organizations (id),
    name           text NOT NULL,
    hash           text NOT NULL,
    start          text NOT NULL,
    prefix         text NOT NULL,
    permissions    text NOT NULL,
    roles          text NOT NULL,
    enabled        boolean NOT NULL,
    expires_at     timestamptz NULL,
    owner_id       text NULL,
    meta           text NULL,
    remaining      bigint NULL,
    refill         text NULL,
    last_refill_at timestamptz NULL,
    ratelimits     text NOT NULL,
    ip_allowlist   text NOT NULL,
    rotated_from   text NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    last_used_at   timestamptz NULL,
    revoked_at     timestamptz NULL
);
CREATE UNIQUE INDEX ux_api_keys_hash ON api_keys (hash);
CREATE INDEX ix_api_keys_org_created ON api_keys (org_id, created_at, id);

-- Verification counts per key, hour and outcome code; written in batches by the usage flush.
-- key_id is '' for NOT_FOUND outcomes, which belong to the verifying organization only.
CREATE TABLE api_key_usage (
    key_id text NOT NULL,
    org_id text NOT NULL,
    bucket bigint NOT NULL,
    code   text NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (key_id, bucket, code)
);
CREATE INDEX ix_api_key_usage_org_bucket ON api_key_usage (org_id, bucket);
