-- Each organization's certificate authority (API.md §10): the certificate, the private key sealed
-- under the organization's data key version key_version, and the current CRL with its number. The
-- row is also the lock that serializes CRL regeneration of the organization.
CREATE TABLE pki_authorities (
    org_id          text PRIMARY KEY REFERENCES organizations (id),
    certificate     bytea NOT NULL,
    sealed_key      bytea NOT NULL,
    key_version     integer NOT NULL,
    crl_number      bigint NOT NULL,
    crl             bytea NOT NULL,
    crl_this_update timestamptz NOT NULL,
    crl_next_update timestamptz NOT NULL,
    created_at      timestamptz NOT NULL
);

-- Every certificate an organization's CA signed, with its revocation.
CREATE TABLE pki_certificates (
    org_id            text NOT NULL REFERENCES organizations (id),
    serial            text NOT NULL,
    kind              text NOT NULL,
    subject           text NOT NULL,
    owner_id          text NULL,
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    revoked_at        timestamptz NULL,
    revocation_reason text NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (org_id, serial)
);
CREATE INDEX ix_pki_certificates_org_revoked ON pki_certificates (org_id, revoked_at);

-- Network gateways: the agent authenticates with a token stored as a keyed hash.
CREATE TABLE gateways (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES organizations (id),
    name              text NOT NULL,
    description       text NULL,
    hostname          text NOT NULL,
    port              integer NOT NULL,
    protocol          text NOT NULL,
    vpn_type          text NOT NULL,
    token_hash        text NOT NULL,
    status            text NOT NULL,
    last_heartbeat    timestamptz NULL,
    agent_version     text NULL,
    connected_clients integer NULL,
    load              double precision NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_gateways_org_name ON gateways (org_id, name);
CREATE UNIQUE INDEX ux_gateways_token_hash ON gateways (token_hash);
CREATE INDEX ix_gateways_org_created ON gateways (org_id, created_at, id);

-- Networks behind gateways: CIDRs that never overlap within an organization.
CREATE TABLE gateway_networks (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    cidr        text NOT NULL,
    gateway_ids text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_gateway_networks_org_name ON gateway_networks (org_id, name);
CREATE INDEX ix_gateway_networks_org_created ON gateway_networks (org_id, created_at, id);

-- Who may reach what: default deny, lower priority first, deny wins at equal priority.
CREATE TABLE access_rules (
    id         text PRIMARY KEY,
    org_id     text NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    subjects   text NOT NULL,
    network_id text NULL,
    cidr       text NULL,
    ports      text NOT NULL,
    protocol   text NOT NULL,
    action     text NOT NULL,
    priority   integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_access_rules_org_name ON access_rules (org_id, name);
CREATE INDEX ix_access_rules_org_created ON access_rules (org_id, created_at, id);

-- Client connections a gateway reported.
CREATE TABLE gateway_connections (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES organizations (id),
    gateway_id      text NOT NULL,
    user_id         text NULL,
    client_key      text NOT NULL,
    client_ip       text NOT NULL,
    virtual_ip      text NULL,
    bytes_in        bigint NOT NULL,
    bytes_out       bigint NOT NULL,
    connected_at    timestamptz NOT NULL,
    disconnected_at timestamptz NULL
);
CREATE INDEX ix_gateway_connections_open ON gateway_connections (org_id, gateway_id, client_key, disconnected_at);
