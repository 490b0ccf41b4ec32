using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Content;

/// <summary>Where an organization's files are stored; the secret stays in the vault (<see cref="CredentialId"/>).</summary>
public sealed class StorageConfig : ICreatedEntity, IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public required string Provider { get; init; }
    public string? Bucket { get; set; }
    public string? Region { get; set; }
    public string? Endpoint { get; set; }
    public string? CredentialId { get; set; }

    /// <summary>Key prefix inside the bucket, blob container or endpoint (s3, azure, custom).</summary>
    public string? Prefix { get; set; }

    /// <summary>S3 path-style addressing (<c>endpoint/bucket/key</c>) for stores without virtual-hosted buckets.</summary>
    public bool PathStyle { get; set; }

    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class ContentContainer : ICreatedEntity, IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? StorageConfigId { get; init; }
    public string? DrmRuleId { get; set; }
    public List<string> Tags { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A stored file: its object holds only ciphertext; its content key is sealed under the org's data key.</summary>
public sealed class ContentFile : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string ContainerId { get; init; }
    public required string Name { get; init; }
    public long Size { get; init; }
    public required string Sha256 { get; init; }
    public required string ContentType { get; init; }
    public string? StorageConfigId { get; init; }
    public required string ObjectKey { get; init; }
    public int KeyVersion { get; set; }
    public required byte[] WrappedKey { get; set; }
    public DateTime CreatedAt { get; init; }
}

public sealed class DrmRule : ICreatedEntity, IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public DateTime? NotBefore { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public long? MaxOpens { get; set; }
    public long? MaxDownloads { get; set; }
    public bool AllowDownload { get; set; }
    public bool AllowPrint { get; set; }
    public bool AllowCopy { get; set; }
    public string? Watermark { get; set; }
    public List<string>? AllowedCountries { get; set; }
    public List<string>? AllowedIpRanges { get; set; }
    public bool RequireConsent { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class ContentShare : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string ContainerId { get; init; }
    public string? DrmRuleId { get; init; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime? RevokedAt { get; set; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>One recipient's link of a share. Counters are changed only by conditional UPDATEs (exact under concurrency).</summary>
public sealed class ShareLink : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string ShareId { get; init; }
    public required string Recipient { get; init; }
    public required string TokenHash { get; init; }
    public long Opens { get; set; }
    public long Downloads { get; set; }
    public DateTime CreatedAt { get; init; }
}

public sealed class Contact : ICreatedEntity, IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Email { get; set; }
    public required string Name { get; set; }
    public string? Company { get; set; }
    public List<string> Tags { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class ContentTag : ICreatedEntity, IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Color { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One consent decision, chained to the previous one of its organization.</summary>
public sealed class ConsentRecord : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public long Seq { get; init; }
    public string? Subject { get; set; }
    public required string SubjectDigest { get; init; }
    public required string Purpose { get; init; }
    public required string PolicyVersion { get; init; }
    public bool Granted { get; init; }
    public DateTime CreatedAt { get; init; }
    public required string PrevHash { get; init; }
    public required string Hash { get; init; }
}

public sealed class Customization : IVersioned, IOrgOwned
{
    public long Version { get; set; }
    public required string OrgId { get; init; }
    public CustomizationSettings Settings { get; set; } = new();
    public DateTime UpdatedAt { get; set; }
}

public sealed class CustomizationSettings
{
    public string? LogoUrl { get; set; }
    public Dictionary<string, string>? Colors { get; set; }
    public string? EmailFrom { get; set; }
    public Dictionary<string, string>? ViewerTexts { get; set; }
}

public sealed class ContentEvent : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Type { get; init; }
    public string? ContainerId { get; init; }
    public string? FileId { get; init; }
    public string? ShareId { get; init; }
    public string? Recipient { get; init; }
    public string? Reason { get; init; }
    public string? Ip { get; init; }
    public string? Country { get; init; }
    public string? DownloadId { get; init; }
    public DateTime CreatedAt { get; init; }
}

public sealed class ClientError : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Code { get; init; }
    public required string Message { get; init; }
    public string? Source { get; init; }
    public string? ContainerId { get; init; }
    public Dictionary<string, System.Text.Json.JsonElement>? Details { get; init; }
    public DateTime CreatedAt { get; init; }
}

public sealed class UsageDay : IOrgOwned
{
    public required string OrgId { get; init; }
    public required string Day { get; init; }
    public long StorageBytes { get; set; }
    public long Uploads { get; set; }
    public long Opens { get; set; }
    public long Downloads { get; set; }
}

internal sealed class ContentMappings :
    IEntityTypeConfiguration<StorageConfig>, IEntityTypeConfiguration<ContentContainer>, IEntityTypeConfiguration<ContentFile>, IEntityTypeConfiguration<DrmRule>,
    IEntityTypeConfiguration<ContentShare>, IEntityTypeConfiguration<ShareLink>, IEntityTypeConfiguration<Contact>, IEntityTypeConfiguration<ContentTag>,
    IEntityTypeConfiguration<ConsentRecord>, IEntityTypeConfiguration<Customization>, IEntityTypeConfiguration<ContentEvent>, IEntityTypeConfiguration<ClientError>,
    IEntityTypeConfiguration<UsageDay>
{
    public void Configure(EntityTypeBuilder<StorageConfig> builder) => builder.ToTable("content_storage_configs").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<ContentContainer> builder)
    {
        builder.ToTable("content_containers").HasKey(e => e.Id);
        builder.Property(e => e.Tags).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<ContentFile> builder) => builder.ToTable("content_files").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<DrmRule> builder)
    {
        builder.ToTable("content_drm_rules").HasKey(e => e.Id);
        builder.Property(e => e.AllowedCountries).HasJsonConversion();
        builder.Property(e => e.AllowedIpRanges).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<ContentShare> builder) => builder.ToTable("content_shares").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<ShareLink> builder) => builder.ToTable("content_share_links").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<Contact> builder)
    {
        builder.ToTable("content_contacts").HasKey(e => e.Id);
        builder.Property(e => e.Tags).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<ContentTag> builder) => builder.ToTable("content_tags").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<ConsentRecord> builder) => builder.ToTable("content_consents").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<Customization> builder)
    {
        builder.ToTable("content_customizations").HasKey(e => e.OrgId);
        builder.Property(e => e.Settings).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<ContentEvent> builder) => builder.ToTable("content_events").HasKey(e => e.Id);

    public void Configure(EntityTypeBuilder<ClientError> builder)
    {
        builder.ToTable("content_client_errors").HasKey(e => e.Id);
        builder.Property(e => e.Details).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<UsageDay> builder) => builder.ToTable("content_usage_days").HasKey(e => new { e.OrgId, e.Day });
}

/// <summary>
/// Deleting an organization deletes every content row; its files' keys were sealed under its data
/// keys, which the vault deletes in the same transaction, so its stored objects can no longer be
/// opened by anyone. The server's own store also removes the objects once the delete committed.
/// </summary>
internal sealed class ContentOrgData(ContentStores stores) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<ContentEvent>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ClientError>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<UsageDay>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<Customization>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ConsentRecord>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ShareLink>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ContentShare>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ContentFile>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ContentContainer>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DrmRule>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<StorageConfig>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<Contact>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<ContentTag>(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        stores.DeleteOrgFromDefaultStore(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken)
    {
        stats["containers"] = await db.Owned<ContentContainer>(orgId).LongCountAsync(cancellationToken);
        stats["contentBytes"] = await db.Owned<ContentFile>(orgId).SumAsync(f => (long?)f.Size, cancellationToken) ?? 0;
    }
}

/// <summary>
/// A data-key version a stored file's key is sealed under is never retired; after a rotation the
/// vault's job re-seals the files' content keys under the current version (the stored objects stay
/// as they are: only the small sealed key in the row changes), so the old version can retire.
/// </summary>
internal sealed class ContentDataKeyUser : Vault.IDataKeyUser
{
    public Task<bool> UsesAsync(GatehouseDb db, string orgId, int keyVersion, CancellationToken cancellationToken) =>
        db.Owned<ContentFile>(orgId).AnyAsync(f => f.KeyVersion == keyVersion, cancellationToken);

    public async Task<Vault.DataKeyUserBatch> ReencryptAsync(GatehouseDb db, Gatehouse.Crypto.OrgKeyring ring, string orgId, string? after, int batchSize, CancellationToken cancellationToken)
    {
        var current = (int)ring.CurrentVersion;
        var query = db.Owned<ContentFile>(orgId).Where(f => f.KeyVersion < current);
        if (after is not null)
        {
            query = query.Where(f => string.Compare(f.Id, after) > 0);
        }

        var stale = await query.OrderBy(f => f.Id).Take(batchSize).ToListAsync(cancellationToken);
        var moved = 0;
        var unreadable = new List<string>();
        foreach (var file in stale)
        {
            var aad = Gatehouse.Crypto.ContentSegments.KeyAssociatedDataFor(file.OrgId, file.ContainerId, file.Id);
            byte[] contentKey;
            try
            {
                contentKey = ring.Open(file.WrappedKey, aad);
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                unreadable.Add("content_file/" + file.Id);
                continue;
            }

            try
            {
                file.WrappedKey = ring.Seal(contentKey, aad);
                file.KeyVersion = current;
                moved++;
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(contentKey);
            }
        }

        return new Vault.DataKeyUserBatch(stale.Count, moved, unreadable, stale.Count == 0 ? after : stale[^1].Id);
    }
}
