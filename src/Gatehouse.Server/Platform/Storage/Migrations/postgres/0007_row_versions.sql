-- Row versions of the resources the API changes: every update or delete is conditional on the
-- version it read, so concurrent changes of one row answer 409 instead of overwriting each other.
ALTER TABLE organizations ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE roles ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN version bigint NOT NULL DEFAULT 0;
