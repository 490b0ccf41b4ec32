using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Gatehouse.Contracts.ApiKeys;

/// <summary>Create an API key. The response holds the key itself, once.</summary>
public sealed record CreateApiKeyRequest
{
    /// <summary>1–200 characters.</summary>
    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Platform permissions (the key can then call this API) and/or the organization's own, checked through verify. Optional, default none.</summary>
    public List<string>? Permissions { get; init; }

    /// <summary>Names of roles of the organization; their permissions are added to the key's.</summary>
    public List<string>? Roles { get; init; }

    /// <summary>After this instant the key verifies as EXPIRED. Must be in the future.</summary>
    public DateTime? ExpiresAt { get; init; }

    /// <summary><c>[a-z0-9]{1,16}</c>; default: the organization's <c>settings.keyPrefix</c>, else <c>gk</c>.</summary>
    [RegularExpression("^[a-z0-9]{1,16}$")]
    public string? Prefix { get; init; }

    /// <summary>Your identifier of the key's owner (a user, a customer); filterable in the list.</summary>
    [StringLength(256)]
    public string? OwnerId { get; init; }

    /// <summary>Any JSON object (≤ 16 KiB), returned by verify.</summary>
    public Dictionary<string, JsonElement>? Meta { get; init; }

    /// <summary>Usage credits; each valid verify spends its <c>cost</c>. Absent: unlimited (or <c>refill.amount</c> when a refill is set).</summary>
    public long? Remaining { get; init; }

    public KeyRefill? Refill { get; init; }

    /// <summary>Named limits that every verify of the key counts against.</summary>
    public List<KeyRateLimit>? Ratelimits { get; init; }

    /// <summary>IPv4/IPv6 addresses or CIDR ranges the key may be used from.</summary>
    public List<string>? IpAllowlist { get; init; }

    /// <summary>Default true.</summary>
    public bool? Enabled { get; init; }
}

/// <summary>
/// Fields to change; absent fields stay. Lists replace the stored list. <c>expiresAt</c>,
/// <c>ownerId</c>, <c>meta</c>, <c>remaining</c> and <c>refill</c> can be cleared with null.
/// </summary>
public sealed record UpdateApiKeyRequest
{
    /// <summary>1–200 characters.</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }
    public List<string>? Permissions { get; init; }
    public List<string>? Roles { get; init; }
    public bool? Enabled { get; init; }
    public List<KeyRateLimit>? Ratelimits { get; init; }
    public List<string>? IpAllowlist { get; init; }

    /// <summary>An ISO-8601 timestamp in the future, or null for no expiry.</summary>
    [ValueOrNull(typeof(DateTime))]
    public JsonElement ExpiresAt { get; init; }

    /// <summary>A string (≤ 256), or null.</summary>
    [ValueOrNull(typeof(string)), StringLength(256)]
    public JsonElement OwnerId { get; init; }

    /// <summary>A JSON object (≤ 16 KiB), or null.</summary>
    [ValueOrNull(typeof(Dictionary<string, JsonElement>))]
    public JsonElement Meta { get; init; }

    /// <summary>Credits ≥ 0, or null for unlimited.</summary>
    [ValueOrNull(typeof(long), Minimum = 0)]
    public JsonElement Remaining { get; init; }

    /// <summary><c>{interval, amount, day?}</c>, or null for no refill.</summary>
    [ValueOrNull(typeof(KeyRefill))]
    public JsonElement Refill { get; init; }
}

/// <summary>Rotate a key: a new key with the same settings; the old one keeps working for the grace period.</summary>
public sealed record RotateApiKeyRequest
{
    /// <summary>Seconds the old key stays valid (0–2592000, default 0); never past its own <c>expiresAt</c>.</summary>
    public long? GracePeriodSeconds { get; init; }
}

/// <summary>Check that a secret is this key.</summary>
public sealed record ValidateApiKeyRequest
{
    /// <summary>The full key to compare with the stored one.</summary>
    public string? Key { get; init; }
}
