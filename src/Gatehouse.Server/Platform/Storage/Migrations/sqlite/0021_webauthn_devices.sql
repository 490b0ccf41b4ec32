-- WebAuthn as an alternative device key (docs/devices.md, decision 0026).
--
-- device_apps.webauthn: off | preferred | required — whether the hosted page's agent uses a platform
-- authenticator. devices.key_type: webcrypto-p256 (the agent's IndexedDB key, public_key_jwk set) or
-- webauthn (a credential of an authenticator: its id, COSE public key, last signature counter, AAGUID,
-- whether the user was verified at the last ceremony, and the relying party id it is scoped to).
-- A WebAuthn device keeps public_key_jwk empty; its key_thumbprint is the SHA-256 of the credential id,
-- so the unique (app_id, key_thumbprint) index makes one credential one device of an app.
ALTER TABLE device_apps ADD COLUMN webauthn TEXT NOT NULL DEFAULT 'off';

ALTER TABLE devices ADD COLUMN key_type TEXT NOT NULL DEFAULT 'webcrypto-p256';
ALTER TABLE devices ADD COLUMN credential_id TEXT NULL;
ALTER TABLE devices ADD COLUMN cose_public_key TEXT NULL;
ALTER TABLE devices ADD COLUMN sign_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN aaguid TEXT NULL;
ALTER TABLE devices ADD COLUMN user_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN rp_id TEXT NULL;
