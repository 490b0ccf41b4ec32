using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Tenancy;

/// <summary>The tenant. Deletion tombstones the row (DeletedAt) and erases the data of every feature.</summary>
public sealed class Organization : ICreatedEntity, IVersioned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string Name { get; set; }
    public string? Slug { get; set; }
    public OrgSettings Settings { get; set; } = new();
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? DeletedAt { get; set; }
}

internal sealed class OrganizationMapping : IEntityTypeConfiguration<Organization>
{
    public void Configure(EntityTypeBuilder<Organization> builder)
    {
        builder.ToTable("organizations");
        builder.HasKey(o => o.Id);
        builder.Property(o => o.Settings).HasJsonConversion();
    }
}
