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

/// <summary>Per-organization settings.</summary>
public sealed record OrgSettings
{
    /// <summary>Prefix of new API keys of this organization (<c>[a-z0-9]{1,16}</c>); default <c>gk</c>.</summary>
    public string? KeyPrefix { get; init; }

    /// <summary>Overrides of the platform rate-limit policies for this organization's credentials.</summary>
    public OrgRateLimitSettings? RateLimits { get; init; }
}

/// <summary>Per-organization overrides of the platform's rate-limit policies (requests per window).</summary>
public sealed record OrgRateLimitSettings
{
    /// <summary>Requests per minute of a standard key.</summary>
    public int? PerMinute { get; init; }

    /// <summary>Requests per 5 minutes of a standard key (burst).</summary>
    public int? PerFiveMinutes { get; init; }

    /// <summary>Requests per day of a standard key.</summary>
    public int? PerDay { get; init; }

    /// <summary>Requests per minute of an admin key.</summary>
    public int? AdminPerMinute { get; init; }

    /// <summary>Verifications per minute for the whole organization.</summary>
    public int? VerifyPerMinute { get; init; }
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
