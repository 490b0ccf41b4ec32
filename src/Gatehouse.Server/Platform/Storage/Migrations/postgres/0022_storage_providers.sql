-- Storage configurations of the s3, azure and custom providers (docs/content.md, "Storage"): a key
-- prefix inside the bucket, container or endpoint, and S3 path-style addressing for stores that do
-- not serve virtual-hosted buckets (MinIO, Ceph, emulators). Secrets stay in the vault.
ALTER TABLE content_storage_configs ADD COLUMN prefix text NULL;
ALTER TABLE content_storage_configs ADD COLUMN path_style boolean NOT NULL DEFAULT false;
