using System.Text.Json;

namespace Gatehouse.Contracts.ApiKeys;

/// <summary>Refill of usage credits: <c>remaining</c> is set to <c>amount</c> at 00:00 UTC each day, or on <c>day</c> of each month.</summary>
public sealed record KeyRefill
{
    /// <summary><c>daily</c> or <c>monthly</c>.</summary>
    public string? Interval { get; init; }

    /// <summary>The balance the refill sets (not adds).</summary>
    public long? Amount { get; init; }

    /// <summary>Day of the month (1–31) for monthly refills; default 1. In shorter months the last day is used.</summary>
    public int? Day { get; init; }
}

/// <summary>A named rate limit of a key: at most <c>limit</c> units per <c>durationMs</c>, counted on every verify.</summary>
public sealed record KeyRateLimit
{
    public string? Name { get; init; }
    public long? Limit { get; init; }
    public long? DurationMs { get; init; }
}

/// <summary>An API key as every response but create and rotate shows it: never the secret or its hash.</summary>
public record ApiKeyView
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; init; }

    /// <summary>Prefix, underscore and the first 4 characters of the secret, to recognise the key.</summary>
    public required string Start { get; init; }

    public required IReadOnlyList<string> Permissions { get; init; }
    public required IReadOnlyList<string> Roles { get; init; }
    public bool Enabled { get; init; }

    /// <summary>
    /// True while the key's owner (a service account or user named by <c>ownerId</c>) is disabled:
    /// the key then verifies as DISABLED whatever <c>enabled</c> says, and works again when the owner is enabled.
    /// </summary>
    public bool OwnerSuspended { get; init; }

    public DateTime? ExpiresAt { get; init; }
    public string? OwnerId { get; init; }
    public IReadOnlyDictionary<string, JsonElement>? Meta { get; init; }

    /// <summary>Usage credits left; null means unlimited.</summary>
    public long? Remaining { get; init; }

    public KeyRefill? Refill { get; init; }
    public required IReadOnlyList<KeyRateLimit> Ratelimits { get; init; }
    public required IReadOnlyList<string> IpAllowlist { get; init; }
    public string? RotatedFrom { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
}

/// <summary>A key with its secret: returned exactly once, by create and by rotate.</summary>
public sealed record IssuedApiKey : ApiKeyView
{
    /// <summary>The full key. Store it now: it cannot be shown again.</summary>
    public required string Key { get; init; }
}
