using System.Text.Json;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Vault;

/// <summary>One version of an organization's data key, stored only wrapped by the master key. Null once retired.</summary>
public sealed class DataKey : IOrgOwned
{
    public required string OrgId { get; init; }
    public int Version { get; init; }
    public byte[]? WrappedKey { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime? RetiredAt { get; set; }
}

/// <summary>A stored credential of an integration: metadata in clear, secret data only in its versions' ciphertext.</summary>
public sealed class Credential : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string IntegrationId { get; init; }
    public required string Name { get; set; }
    public required string AuthType { get; init; }
    public Dictionary<string, JsonElement>? Metadata { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public int CurrentVersion { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One version of a credential's data: AES-256-GCM under the org's data key <see cref="KeyVersion"/>.</summary>
public sealed class CredentialVersion : IOrgOwned
{
    public required string CredentialId { get; init; }
    public required string OrgId { get; init; }
    public int Version { get; init; }
    public int KeyVersion { get; set; }
    public required byte[] Ciphertext { get; set; }
    public DateTime CreatedAt { get; init; }
}

internal sealed class VaultMappings : IEntityTypeConfiguration<DataKey>, IEntityTypeConfiguration<Credential>, IEntityTypeConfiguration<CredentialVersion>
{
    public void Configure(EntityTypeBuilder<DataKey> builder)
    {
        builder.ToTable("data_keys");
        builder.HasKey(k => new { k.OrgId, k.Version });
    }

    public void Configure(EntityTypeBuilder<Credential> builder)
    {
        builder.ToTable("credentials");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Metadata).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<CredentialVersion> builder)
    {
        builder.ToTable("credential_versions");
        builder.HasKey(v => new { v.CredentialId, v.Version });
    }
}
