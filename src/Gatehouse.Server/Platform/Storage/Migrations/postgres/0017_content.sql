-- Protected content (API.md §11): storage configurations, containers and their encrypted files,
-- DRM rules, shares with hashed per-recipient tokens and exact counters, the address book, tags,
-- hash-chained consents, branding, the content event feed, client errors and daily usage.
-- Rows of this feature reference each other by id without foreign keys: EF writes them in one
-- SaveChanges without navigations, so it cannot order the inserts; the handlers keep them consistent.
CREATE TABLE content_storage_configs (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES organizations (id),
    name          text NOT NULL,
    provider      text NOT NULL,
    bucket        text NULL,
    region        text NULL,
    endpoint      text NULL,
    credential_id text NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_storage_configs_org_name ON content_storage_configs (org_id, name);
CREATE INDEX ix_content_storage_configs_org_created ON content_storage_configs (org_id, created_at, id);

CREATE TABLE content_drm_rules (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES organizations (id),
    name              text NOT NULL,
    not_before        timestamptz NULL,
    expires_at        timestamptz NULL,
    max_opens         bigint NULL,
    max_downloads     bigint NULL,
    allow_download    boolean NOT NULL,
    allow_print       boolean NOT NULL,
    allow_copy        boolean NOT NULL,
    watermark         text NULL,
    allowed_countries text NULL,
    allowed_ip_ranges text NULL,
    require_consent   boolean NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 0
);
CREATE INDEX ix_content_drm_rules_org_created ON content_drm_rules (org_id, created_at, id);

CREATE TABLE content_containers (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES organizations (id),
    name              text NOT NULL,
    storage_config_id text NULL,
    drm_rule_id       text NULL,
    tags              text NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 0
);
CREATE INDEX ix_content_containers_org_created ON content_containers (org_id, created_at, id);

-- wrapped_key: the file's content key sealed under the org's data key version key_version.
CREATE TABLE content_files (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES organizations (id),
    container_id      text NOT NULL,
    name              text NOT NULL,
    size              bigint NOT NULL,
    sha256            text NOT NULL,
    content_type      text NOT NULL,
    storage_config_id text NULL,
    object_key        text NOT NULL,
    key_version       integer NOT NULL,
    wrapped_key       bytea NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX ix_content_files_container_created ON content_files (container_id, created_at, id);
CREATE INDEX ix_content_files_org_key_version ON content_files (org_id, key_version);

CREATE TABLE content_shares (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    container_id text NOT NULL,
    drm_rule_id  text NULL,
    expires_at   timestamptz NULL,
    revoked_at   timestamptz NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX ix_content_shares_container_created ON content_shares (container_id, created_at, id);

-- token_hash: HMAC-SHA-256 of the link token under the server's pepper; the token is shown once.
CREATE TABLE content_share_links (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    share_id     text NOT NULL,
    recipient    text NOT NULL,
    token_hash   text NOT NULL,
    opens        bigint NOT NULL,
    downloads    bigint NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX ux_content_share_links_token_hash ON content_share_links (token_hash);
CREATE INDEX ix_content_share_links_share ON content_share_links (share_id);

CREATE TABLE content_contacts (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES organizations (id),
    email      text NOT NULL,
    name       text NOT NULL,
    company    text NULL,
    tags       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_contacts_org_email ON content_contacts (org_id, email);
CREATE INDEX ix_content_contacts_org_created ON content_contacts (org_id, created_at, id);

CREATE TABLE content_tags (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    color      text NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_tags_org_name ON content_tags (org_id, name);
CREATE INDEX ix_content_tags_org_created ON content_tags (org_id, created_at, id);

-- Append-only, hash-chained per organization. subject is personal data and may be erased (set to
-- NULL); subject_digest (keyed) stays, and it is what the hash covers, so the chain still verifies.
CREATE TABLE content_consents (
    id             text PRIMARY KEY,
    org_id         text NOT NULL REFERENCES organizations (id),
    seq            bigint NOT NULL,
    subject        text NULL,
    subject_digest text NOT NULL,
    purpose        text NOT NULL,
    policy_version text NOT NULL,
    granted        boolean NOT NULL,
    created_at     timestamptz NOT NULL,
    prev_hash      text NOT NULL,
    hash           text NOT NULL
);
CREATE UNIQUE INDEX ux_content_consents_org_seq ON content_consents (org_id, seq);
CREATE INDEX ix_content_consents_org_subject ON content_consents (org_id, subject_digest, purpose, seq);
CREATE INDEX ix_content_consents_org_created ON content_consents (org_id, created_at, id);

CREATE TABLE content_customizations (
    org_id     text PRIMARY KEY REFERENCES organizations (id),
    settings   text NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint NOT NULL DEFAULT 0
);

CREATE TABLE content_events (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    type         text NOT NULL,
    container_id text NULL,
    file_id      text NULL,
    share_id     text NULL,
    recipient    text NULL,
    reason       text NULL,
    ip           text NULL,
    country      text NULL,
    download_id  text NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX ix_content_events_org_created ON content_events (org_id, created_at, id);
CREATE INDEX ix_content_events_container_created ON content_events (container_id, created_at, id);

CREATE TABLE content_client_errors (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    code         text NOT NULL,
    message      text NOT NULL,
    source       text NULL,
    container_id text NULL,
    details      text NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX ix_content_client_errors_org_created ON content_client_errors (org_id, created_at, id);

-- One row per organization and UTC day; storage_bytes is the total stored at the day's last change.
CREATE TABLE content_usage_days (
    org_id        text NOT NULL REFERENCES organizations (id),
    day           text NOT NULL,
    storage_bytes bigint NOT NULL,
    uploads       bigint NOT NULL,
    opens         bigint NOT NULL,
    downloads     bigint NOT NULL,
    PRIMARY KEY (org_id, day)
);
