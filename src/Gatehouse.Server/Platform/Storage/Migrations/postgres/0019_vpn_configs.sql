-- VPN configs users and mesh spokes connect with (docs/vpn-configs.md). No key material: keys and
-- certificates exist only in the one download. A WireGuard address is unique per network while its
-- config lives (released, set to NULL, on revocation): the unique index is what makes concurrent
-- generations safe, the server retries on a collision.
CREATE TABLE vpn_configs (
    id                     text PRIMARY KEY,
    org_id                 text NOT NULL REFERENCES organizations (id),
    user_id                text NOT NULL,
    gateway_id             text NOT NULL,
    protocol               text NOT NULL,
    device_id              text NULL,
    hub_id                 text NULL,
    spoke_name             text NULL,
    local_cidrs            text NOT NULL,
    network_id             text NULL,
    address                text NULL,
    public_key             text NULL,
    serial                 text NULL,
    created_at             timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    downloaded_at          timestamptz NULL,
    certificate_expires_at timestamptz NULL,
    revoked_at             timestamptz NULL,
    revocation_reason      text NULL,
    version                bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_vpn_configs_network_address ON vpn_configs (org_id, network_id, address);
CREATE INDEX ix_vpn_configs_org_created ON vpn_configs (org_id, created_at, id);
CREATE INDEX ix_vpn_configs_org_user ON vpn_configs (org_id, user_id);
CREATE INDEX ix_vpn_configs_org_public_key ON vpn_configs (org_id, public_key);
CREATE INDEX ix_vpn_configs_org_serial ON vpn_configs (org_id, serial);
CREATE INDEX ix_vpn_configs_org_device ON vpn_configs (org_id, device_id);

-- Mesh hubs: a WireGuard gateway joining networks site to site.
CREATE TABLE mesh_hubs (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    description text NULL,
    gateway_id  text NOT NULL,
    network_ids text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_mesh_hubs_org_name ON mesh_hubs (org_id, name);
CREATE INDEX ix_mesh_hubs_org_created ON mesh_hubs (org_id, created_at, id);

-- An organization's VPN policy: geo-fence and device-verified access. No row: all off.
CREATE TABLE vpn_settings (
    org_id        text PRIMARY KEY REFERENCES organizations (id),
    geo_mode      text NOT NULL,
    geo_countries text NOT NULL,
    require_device boolean NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint NOT NULL DEFAULT 0
);

-- A WireGuard gateway's public key, and an OpenVPN gateway's tls-crypt key sealed under the
-- organization's data key (version tls_crypt_key_version).
ALTER TABLE gateways ADD COLUMN public_key text NULL;
ALTER TABLE gateways ADD COLUMN tls_crypt_key bytea NULL;
ALTER TABLE gateways ADD COLUMN tls_crypt_key_version integer NULL;
