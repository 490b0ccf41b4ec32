using System.Text.Json;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// An organization's API key. The secret itself is never stored: only its HMAC (<see cref="Hash"/>)
/// and the displayable <see cref="Start"/>. A revoked key keeps its row for the audit trail.
/// </summary>
public sealed class ApiKey : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public required string Hash { get; init; }
    public required string Start { get; init; }
    public required string Prefix { get; init; }
    public List<string> Permissions { get; set; } = [];
    public List<string> Roles { get; set; } = [];
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Set while the key's owner (a user or service account) is disabled. Kept apart from
    /// <see cref="Enabled"/> so enabling the owner restores exactly what the key's own flag was.
    /// </summary>
    public bool OwnerSuspended { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public string? OwnerId { get; set; }
    public Dictionary<string, JsonElement>? Meta { get; set; }
    public long? Remaining { get; set; }
    public KeyRefill? Refill { get; set; }
    public DateTime? LastRefillAt { get; set; }
    public List<KeyRateLimit> Ratelimits { get; set; } = [];
    public List<string> IpAllowlist { get; set; } = [];

    /// <summary>The key this one replaced by rotation, if any.</summary>
    public string? RotatedFrom { get; init; }

    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

/// <summary>Verification counts of one key (or, with an empty key id, of an organization's NOT_FOUND outcomes) per hour and code.</summary>
public sealed class ApiKeyUsage : IOrgOwned
{
    public required string KeyId { get; init; }
    public required string OrgId { get; init; }

    /// <summary>Unix seconds of the start of the hour.</summary>
    public long Bucket { get; init; }

    public required string Code { get; init; }
    public long Count { get; set; }
}

/// <summary>How the server shows a key; the shapes themselves are in the contracts.</summary>
internal static class ApiKeyViewMapping
{
    extension(ApiKeyView)
    {
        public static ApiKeyView From(ApiKey key, DateTime now) => new()
        {
            Id = key.Id,
            OrgId = key.OrgId,
            Name = key.Name,
            Start = key.Start,
            Permissions = key.Permissions,
            Roles = key.Roles,
            Enabled = key.Enabled,
            OwnerSuspended = key.OwnerSuspended,
            ExpiresAt = key.ExpiresAt,
            OwnerId = key.OwnerId,
            Meta = key.Meta,
            // A refill that is due shows as done: it is applied on the next verify (lazily).
            Remaining = KeyRefills.IsDue(key.Refill, key.LastRefillAt, now, out _) ? key.Refill!.Amount : key.Remaining,
            Refill = key.Refill,
            Ratelimits = key.Ratelimits,
            IpAllowlist = key.IpAllowlist,
            RotatedFrom = key.RotatedFrom,
            CreatedAt = key.CreatedAt,
            UpdatedAt = key.UpdatedAt,
            LastUsedAt = key.LastUsedAt,
            RevokedAt = key.RevokedAt,
        };
    }

    extension(IssuedApiKey)
    {
        public static IssuedApiKey From(ApiKey key, string secret, DateTime now)
        {
            var view = ApiKeyView.From(key, now);
            return new IssuedApiKey
            {
                Key = secret,
                Id = view.Id,
                OrgId = view.OrgId,
                Name = view.Name,
                Start = view.Start,
                Permissions = view.Permissions,
                Roles = view.Roles,
                Enabled = view.Enabled,
                OwnerSuspended = view.OwnerSuspended,
                ExpiresAt = view.ExpiresAt,
                OwnerId = view.OwnerId,
                Meta = view.Meta,
                Remaining = view.Remaining,
                Refill = view.Refill,
                Ratelimits = view.Ratelimits,
                IpAllowlist = view.IpAllowlist,
                RotatedFrom = view.RotatedFrom,
                CreatedAt = view.CreatedAt,
                UpdatedAt = view.UpdatedAt,
                LastUsedAt = view.LastUsedAt,
                RevokedAt = view.RevokedAt,
            };
        }
    }
}

/// <summary>When a refill is due: daily at 00:00 UTC, monthly at 00:00 UTC of <c>day</c> (clamped to the month's length).</summary>
public static class KeyRefills
{
    public static bool IsDue(KeyRefill? refill, DateTime? lastRefillAt, DateTime now, out DateTime scheduledAt)
    {
        scheduledAt = default;
        if (refill?.Amount is null)
        {
            return false;
        }

        scheduledAt = LastScheduled(refill, now);
        return lastRefillAt is null || lastRefillAt < scheduledAt;
    }

    /// <summary>The latest scheduled refill time at or before <paramref name="now"/>.</summary>
    public static DateTime LastScheduled(KeyRefill refill, DateTime now)
    {
        var today = new DateTime(now.Year, now.Month, now.Day, 0, 0, 0, DateTimeKind.Utc);
        if (refill.Interval != "monthly")
        {
            return today;
        }

        var day = refill.Day ?? 1;
        var thisMonth = new DateTime(now.Year, now.Month, Math.Min(day, DateTime.DaysInMonth(now.Year, now.Month)), 0, 0, 0, DateTimeKind.Utc);
        if (thisMonth <= now)
        {
            return thisMonth;
        }

        var previous = today.AddMonths(-1);
        return new DateTime(previous.Year, previous.Month, Math.Min(day, DateTime.DaysInMonth(previous.Year, previous.Month)), 0, 0, 0, DateTimeKind.Utc);
    }
}

internal sealed class ApiKeyMapping : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.HasIndex(k => k.Hash).IsUnique();
        builder.Property(k => k.Permissions).HasJsonConversion();
        builder.Property(k => k.Roles).HasJsonConversion();
        builder.Property(k => k.Meta).HasJsonConversion();
        builder.Property(k => k.Refill).HasJsonConversion();
        builder.Property(k => k.Ratelimits).HasJsonConversion();
        builder.Property(k => k.IpAllowlist).HasJsonConversion();
    }
}

internal sealed class ApiKeyUsageMapping : IEntityTypeConfiguration<ApiKeyUsage>
{
    public void Configure(EntityTypeBuilder<ApiKeyUsage> builder)
    {
        builder.ToTable("api_key_usage");
        builder.HasKey(u => new { u.KeyId, u.Bucket, u.Code });
    }
}
