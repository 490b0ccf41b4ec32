-- Single sign-on clients that authenticate with private_key_jwt (docs/sso.md): the method, and the
-- P-256 key Gatehouse signs its client assertions with, sealed under the organization's data key
-- (key_version covers it as it covers a client secret), with its public JWK for the provider.
ALTER TABLE sso_settings ADD COLUMN client_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE sso_settings ADD COLUMN sealed_client_key BLOB;
ALTER TABLE sso_settings ADD COLUMN client_public_jwk TEXT;
-- A rotated key: published at once, signing from next_client_key_activates_at (after providers have
-- had time to fetch it), then it replaces the current one.
ALTER TABLE sso_settings ADD COLUMN sealed_next_client_key BLOB;
ALTER TABLE sso_settings ADD COLUMN next_client_public_jwk TEXT;
ALTER TABLE sso_settings ADD COLUMN next_client_key_activates_at TEXT;
