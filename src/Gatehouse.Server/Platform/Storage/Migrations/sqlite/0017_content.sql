-- Protected content (API.md §11): storage configurations, containers and their encrypted files,
-- DRM rules, shares with hashed per-recipient tokens and exact counters, the address book, tags,
-- hash-chained consents, branding, the content event feed, client errors and daily usage.
-- Rows of this feature reference each other by id without foreign keys: EF writes them in one
-- SaveChanges without navigations, so it cannot order the inserts; the handlers keep them consistent.
CREATE TABLE content_storage_configs (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    provider      TEXT NOT NULL,
    bucket        TEXT NULL,
    region        TEXT NULL,
    endpoint      TEXT NULL,
    credential_id TEXT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_storage_configs_org_name ON content_storage_configs (org_id, name);
CREATE INDEX ix_content_storage_configs_org_created ON content_storage_configs (org_id, created_at, id);

CREATE TABLE content_drm_rules (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    name              TEXT NOT NULL,
    not_before        TEXT NULL,
    expires_at        TEXT NULL,
    max_opens         INTEGER NULL,
    max_downloads     INTEGER NULL,
    allow_download    INTEGER NOT NULL,
    allow_print       INTEGER NOT NULL,
    allow_copy        INTEGER NOT NULL,
    watermark         TEXT NULL,
    allowed_countries TEXT NULL,
    allowed_ip_ranges TEXT NULL,
    require_consent   INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_content_drm_rules_org_created ON content_drm_rules (org_id, created_at, id);

CREATE TABLE content_containers (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    name              TEXT NOT NULL,
    storage_config_id TEXT NULL,
    drm_rule_id       TEXT NULL,
    tags              TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_content_containers_org_created ON content_containers (org_id, created_at, id);

-- wrapped_key: the file's content key sealed under the org's data key version key_version.
CREATE TABLE content_files (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    container_id      TEXT NOT NULL,
    name              TEXT NOT NULL,
    size              INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    storage_config_id TEXT NULL,
    object_key        TEXT NOT NULL,
    key_version       INTEGER NOT NULL,
    wrapped_key       BLOB NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX ix_content_files_container_created ON content_files (container_id, created_at, id);
CREATE INDEX ix_content_files_org_key_version ON content_files (org_id, key_version);

CREATE TABLE content_shares (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    container_id TEXT NOT NULL,
    drm_rule_id  TEXT NULL,
    expires_at   TEXT NULL,
    revoked_at   TEXT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX ix_content_shares_container_created ON content_shares (container_id, created_at, id);

-- token_hash: HMAC-SHA-256 of the link token under the server's pepper; the token is shown once.
CREATE TABLE content_share_links (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    share_id     TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    opens        INTEGER NOT NULL,
    downloads    INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_content_share_links_token_hash ON content_share_links (token_hash);
CREATE INDEX ix_content_share_links_share ON content_share_links (share_id);

CREATE TABLE content_contacts (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    company    TEXT NULL,
    tags       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_contacts_org_email ON content_contacts (org_id, email);
CREATE INDEX ix_content_contacts_org_created ON content_contacts (org_id, created_at, id);

CREATE TABLE content_tags (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    color      TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_content_tags_org_name ON content_tags (org_id, name);
CREATE INDEX ix_content_tags_org_created ON content_tags (org_id, created_at, id);

-- Append-only, hash-chained per organization. subject is personal data and may be erased (set to
-- NULL); subject_digest (keyed) stays, and it is what the hash covers, so the chain still verifies.
CREATE TABLE content_consents (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    seq            INTEGER NOT NULL,
    subject        TEXT NULL,
    subject_digest TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    granted        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_content_consents_org_seq ON content_consents (org_id, seq);
CREATE INDEX ix_content_consents_org_subject ON content_consents (org_id, subject_digest, purpose, seq);
CREATE INDEX ix_content_consents_org_created ON content_consents (org_id, created_at, id);

CREATE TABLE content_customizations (
    org_id     TEXT PRIMARY KEY REFERENCES organizations (id),
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE content_events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    type         TEXT NOT NULL,
    container_id TEXT NULL,
    file_id      TEXT NULL,
    share_id     TEXT NULL,
    recipient    TEXT NULL,
    reason       TEXT NULL,
    ip           TEXT NULL,
    country      TEXT NULL,
    download_id  TEXT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX ix_content_events_org_created ON content_events (org_id, created_at, id);
CREATE INDEX ix_content_events_container_created ON content_events (container_id, created_at, id);

CREATE TABLE content_client_errors (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    source       TEXT NULL,
    container_id TEXT NULL,
    details      TEXT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX ix_content_client_errors_org_created ON content_client_errors (org_id, created_at, id);

-- One row per organization and UTC day; storage_bytes is the total stored at the day's last change.
CREATE TABLE content_usage_days (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    day           TEXT NOT NULL,
    storage_bytes INTEGER NOT NULL,
    uploads       INTEGER NOT NULL,
    opens         INTEGER NOT NULL,
    downloads     INTEGER NOT NULL,
    PRIMARY KEY (org_id, day)
);
