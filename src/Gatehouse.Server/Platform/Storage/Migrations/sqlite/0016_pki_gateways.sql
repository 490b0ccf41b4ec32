-- Each organization's certificate authority (API.md §10): the certificate, the private key sealed
-- under the organization's data key version key_version, and the current CRL with its number. The
-- row is also the lock that serializes CRL regeneration of the organization.
CREATE TABLE pki_authorities (
    org_id          TEXT PRIMARY KEY REFERENCES organizations (id),
    certificate     BLOB NOT NULL,
    sealed_key      BLOB NOT NULL,
    key_version     INTEGER NOT NULL,
    crl_number      INTEGER NOT NULL,
    crl             BLOB NOT NULL,
    crl_this_update TEXT NOT NULL,
    crl_next_update TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

-- Every certificate an organization's CA signed, with its revocation.
CREATE TABLE pki_certificates (
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    serial            TEXT NOT NULL,
    kind              TEXT NOT NULL,
    subject           TEXT NOT NULL,
    owner_id          TEXT NULL,
    not_before        TEXT NOT NULL,
    not_after         TEXT NOT NULL,
    revoked_at        TEXT NULL,
    revocation_reason TEXT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (org_id, serial)
);
CREATE INDEX ix_pki_certificates_org_revoked ON pki_certificates (org_id, revoked_at);

-- Network gateways: the agent authenticates with a token stored as a keyed hash.
CREATE TABLE gateways (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    name              TEXT NOT NULL,
    description       TEXT NULL,
    hostname          TEXT NOT NULL,
    port              INTEGER NOT NULL,
    protocol          TEXT NOT NULL,
    vpn_type          TEXT NOT NULL,
    token_hash        TEXT NOT NULL,
    status            TEXT NOT NULL,
    last_heartbeat    TEXT NULL,
    agent_version     TEXT NULL,
    connected_clients INTEGER NULL,
    load              REAL NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_gateways_org_name ON gateways (org_id, name);
CREATE UNIQUE INDEX ux_gateways_token_hash ON gateways (token_hash);
CREATE INDEX ix_gateways_org_created ON gateways (org_id, created_at, id);

-- Networks behind gateways: CIDRs that never overlap within an organization.
CREATE TABLE gateway_networks (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    cidr        TEXT NOT NULL,
    gateway_ids TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_gateway_networks_org_name ON gateway_networks (org_id, name);
CREATE INDEX ix_gateway_networks_org_created ON gateway_networks (org_id, created_at, id);

-- Who may reach what: default deny, lower priority first, deny wins at equal priority.
CREATE TABLE access_rules (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    name       TEXT NOT NULL,
    subjects   TEXT NOT NULL,
    network_id TEXT NULL,
    cidr       TEXT NULL,
    ports      TEXT NOT NULL,
    protocol   TEXT NOT NULL,
    action     TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_access_rules_org_name ON access_rules (org_id, name);
CREATE INDEX ix_access_rules_org_created ON access_rules (org_id, created_at, id);

-- Client connections a gateway reported.
CREATE TABLE gateway_connections (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    gateway_id      TEXT NOT NULL,
    user_id         TEXT NULL,
    client_key      TEXT NOT NULL,
    client_ip       TEXT NOT NULL,
    virtual_ip      TEXT NULL,
    bytes_in        INTEGER NOT NULL,
    bytes_out       INTEGER NOT NULL,
    connected_at    TEXT NOT NULL,
    disconnected_at TEXT NULL
);
CREATE INDEX ix_gateway_connections_open ON gateway_connections (org_id, gateway_id, client_key, disconnected_at);
