using System.Text.Json;

namespace Gatehouse.Contracts.ApiKeys;

/// <summary>Verify a key presented to your service.</summary>
public sealed record VerifyApiKeyRequest
{
    /// <summary>The key as presented.</summary>
    public string? Key { get; init; }

    /// <summary>A permission query: permissions joined by AND / OR (upper case) with parentheses, e.g. <c>docs:read AND (docs:write OR admin)</c>.</summary>
    public string? Permissions { get; init; }

    /// <summary>
    /// Credits to spend when every check passes (default 1). 0 is a dry run: every check answers as
    /// for cost 1, but no credit is spent and no rate-limit unit is taken.
    /// </summary>
    public long? Cost { get; init; }

    /// <summary>Costs for the key's named rate limits (default 1 each); names the key does not have are ignored.</summary>
    public List<VerifyRateLimitCost>? Ratelimits { get; init; }

    /// <summary>The end client's IP address, checked against the key's <c>ipAllowlist</c>.</summary>
    public string? Ip { get; init; }

    /// <summary>Free-form tags of this verification: accepted and ignored (they are not stored).</summary>
    public Dictionary<string, JsonElement>? Tags { get; init; }
}

/// <summary>The cost of one verification against one of the key's named rate limits.</summary>
public sealed record VerifyRateLimitCost
{
    public string? Name { get; init; }

    /// <summary>Default 1.</summary>
    public long? Cost { get; init; }
}

/// <summary>The verdict codes of verify, in the order the checks run.</summary>
public static class VerifyCodes
{
    public const string Valid = "VALID";
    public const string NotFound = "NOT_FOUND";
    public const string Revoked = "REVOKED";
    public const string Disabled = "DISABLED";
    public const string Expired = "EXPIRED";
    public const string Forbidden = "FORBIDDEN";
    public const string InsufficientPermissions = "INSUFFICIENT_PERMISSIONS";
    public const string RateLimited = "RATE_LIMITED";
    public const string UsageExceeded = "USAGE_EXCEEDED";

    public static readonly IReadOnlyList<string> All = [Valid, NotFound, Revoked, Disabled, Expired, Forbidden, InsufficientPermissions, RateLimited, UsageExceeded];
}

/// <summary>
/// The verdict on a key. <c>NOT_FOUND</c> carries only <c>valid</c> and <c>code</c>, nothing about
/// any key; every other code carries the key's data.
/// </summary>
public record KeyVerdict
{
    // Not sealed: the server derives a verdict that also remembers the cached key it describes, to
    // write the key's fields from bytes kept on that key.
    public bool Valid { get; init; }

    /// <summary>VALID, NOT_FOUND, REVOKED, DISABLED, EXPIRED, FORBIDDEN, INSUFFICIENT_PERMISSIONS, RATE_LIMITED or USAGE_EXCEEDED.</summary>
    public required string Code { get; init; }

    public string? KeyId { get; init; }
    public string? OrgId { get; init; }
    public string? Name { get; init; }
    public string? OwnerId { get; init; }
    public IReadOnlyDictionary<string, JsonElement>? Meta { get; init; }
    public IReadOnlyList<string>? Permissions { get; init; }
    public IReadOnlyList<string>? Roles { get; init; }
    public DateTime? ExpiresAt { get; init; }

    /// <summary>Usage credits left after this verification; null means unlimited.</summary>
    public long? Remaining { get; init; }

    public IReadOnlyList<RateLimitState>? Ratelimits { get; init; }
}

/// <summary>The state of one of the key's rate limits after this verification.</summary>
public sealed record RateLimitState(string Name, long Limit, long DurationMs, long Remaining, DateTimeOffset ResetAt, bool Exceeded);
