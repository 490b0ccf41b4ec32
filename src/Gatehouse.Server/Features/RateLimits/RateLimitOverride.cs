using Gatehouse.Contracts.RateLimits;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.RateLimits;

/// <summary>A limit for one identifier in one namespace that replaces the limit sent with <c>POST /ratelimit</c>.</summary>
public sealed class RateLimitOverride : ICreatedEntity, IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Namespace { get; init; }
    public required string Identifier { get; init; }
    public long Limit { get; set; }
    public long DurationMs { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>How the server shows an override; the shape itself is in the contracts.</summary>
internal static class RateLimitOverrideViewMapping
{
    extension(RateLimitOverrideView)
    {
        public static RateLimitOverrideView From(RateLimitOverride o) => new(o.Id, o.OrgId, o.Namespace, o.Identifier, o.Limit, o.DurationMs, o.CreatedAt, o.UpdatedAt);
    }
}

internal sealed class RateLimitOverrideMapping : IEntityTypeConfiguration<RateLimitOverride>
{
    public void Configure(EntityTypeBuilder<RateLimitOverride> builder)
    {
        builder.ToTable("ratelimit_overrides");
        builder.HasKey(o => o.Id);
    }
}

internal sealed class RateLimitOverrideOrgData : IOrgDataEraser
{
    public Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        db.Owned<RateLimitOverride>(orgId).ExecuteDeleteAsync(cancellationToken);
}
