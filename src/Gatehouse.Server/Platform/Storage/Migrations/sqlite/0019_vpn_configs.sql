-- VPN configs users and mesh spokes connect with (docs/vpn-configs.md). No key material: keys and
-- certificates exist only in the one download. A WireGuard address is unique per network while its
-- config lives (released, set to NULL, on revocation): the unique index is what makes concurrent
-- generations safe, the server retries on a collision.
CREATE TABLE vpn_configs (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id),
    user_id                TEXT NOT NULL,
    gateway_id             TEXT NOT NULL,
    protocol               TEXT NOT NULL,
    device_id              TEXT NULL,
    hub_id                 TEXT NULL,
    spoke_name             TEXT NULL,
    local_cidrs            TEXT NOT NULL,
    network_id             TEXT NULL,
    address                TEXT NULL,
    public_key             TEXT NULL,
    serial                 TEXT NULL,
    created_at             TEXT NOT NULL,
    expires_at             TEXT NOT NULL,
    downloaded_at          TEXT NULL,
    certificate_expires_at TEXT NULL,
    revoked_at             TEXT NULL,
    revocation_reason      TEXT NULL,
    version                INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_vpn_configs_network_address ON vpn_configs (org_id, network_id, address);
CREATE INDEX ix_vpn_configs_org_created ON vpn_configs (org_id, created_at, id);
CREATE INDEX ix_vpn_configs_org_user ON vpn_configs (org_id, user_id);
CREATE INDEX ix_vpn_configs_org_public_key ON vpn_configs (org_id, public_key);
CREATE INDEX ix_vpn_configs_org_serial ON vpn_configs (org_id, serial);
CREATE INDEX ix_vpn_configs_org_device ON vpn_configs (org_id, device_id);

-- Mesh hubs: a WireGuard gateway joining networks site to site.
CREATE TABLE mesh_hubs (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    description TEXT NULL,
    gateway_id  TEXT NOT NULL,
    network_ids TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ux_mesh_hubs_org_name ON mesh_hubs (org_id, name);
CREATE INDEX ix_mesh_hubs_org_created ON mesh_hubs (org_id, created_at, id);

-- An organization's VPN policy: geo-fence and device-verified access. No row: all off.
CREATE TABLE vpn_settings (
    org_id        TEXT PRIMARY KEY REFERENCES organizations (id),
    geo_mode      TEXT NOT NULL,
    geo_countries TEXT NOT NULL,
    require_device INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0
);

-- A WireGuard gateway's public key, and an OpenVPN gateway's tls-crypt key sealed under the
-- organization's data key (version tls_crypt_key_version).
ALTER TABLE gateways ADD COLUMN public_key TEXT NULL;
ALTER TABLE gateways ADD COLUMN tls_crypt_key BLOB NULL;
ALTER TABLE gateways ADD COLUMN tls_crypt_key_version INTEGER NULL;
