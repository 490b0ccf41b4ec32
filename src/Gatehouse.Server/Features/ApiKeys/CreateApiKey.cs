using System.Text.Json;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>Create an API key. The response holds the key itself, once.</summary>
public sealed record CreateApiKeyRequest
{
    /// <summary>1–200 characters.</summary>
    public string? Name { get; init; }

    /// <summary>Platform permissions (the key can then call this API) and/or the organization's own, checked through verify.</summary>
    public List<string>? Permissions { get; init; }

    /// <summary>Names of roles of the organization; their permissions are added to the key's.</summary>
    public List<string>? Roles { get; init; }

    /// <summary>After this instant the key verifies as EXPIRED. Must be in the future.</summary>
    public DateTime? ExpiresAt { get; init; }

    /// <summary><c>[a-z0-9]{1,16}</c>; default: the organization's <c>settings.keyPrefix</c>, else <c>gk</c>.</summary>
    public string? Prefix { get; init; }

    /// <summary>Your identifier of the key's owner (a user, a customer); filterable in the list.</summary>
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

public static class CreateApiKey
{
    public static async Task<Results<ApiCreated<IssuedApiKey>, ApiError>> Handle(
        string orgId, CreateApiKeyRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher,
        KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var validation = new Validation().Permissions("permissions", request.Permissions, required: true);
        ApiKeyRules.Name(validation, request.Name, required: true);
        ApiKeyRules.Prefix(validation, request.Prefix);
        ApiKeyRules.Roles(validation, request.Roles);
        ApiKeyRules.ExpiresAt(validation, request.ExpiresAt, now);
        ApiKeyRules.OwnerId(validation, request.OwnerId);
        ApiKeyRules.Meta(validation, request.Meta);
        ApiKeyRules.Remaining(validation, request.Remaining);
        ApiKeyRules.Refill(validation, request.Refill);
        ApiKeyRules.RateLimits(validation, request.Ratelimits);
        ApiKeyRules.IpAllowlist(validation, request.IpAllowlist);
        await ApiKeyRules.MissingRolesAsync(validation, db, orgId, request.Roles, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var permissions = request.Permissions!.Distinct(StringComparer.Ordinal).ToList();
        var roles = (request.Roles ?? []).Distinct(StringComparer.Ordinal).ToList();
        var prefix = request.Prefix;
        if (prefix is null)
        {
            var settings = await db.Set<Organization>().Where(o => o.Id == orgId).Select(o => o.Settings).FirstOrDefaultAsync(cancellationToken);
            prefix = settings?.KeyPrefix ?? "gk";
        }

        var secret = ApiKeyFormat.Generate(prefix);
        var key = new ApiKey
        {
            Id = Ids.New("key", clock.GetUtcNow()),
            OrgId = orgId,
            Name = request.Name!.Trim(),
            Hash = hasher.Hash(secret),
            Start = ApiKeyFormat.Start(secret),
            Prefix = prefix,
            Permissions = permissions,
            Roles = roles,
            Enabled = request.Enabled ?? true,
            ExpiresAt = request.ExpiresAt,
            OwnerId = request.OwnerId,
            Meta = request.Meta,
            Remaining = request.Remaining ?? request.Refill?.Amount,
            Refill = request.Refill,
            // The balance given now counts as the latest refill: the first automatic one is the next scheduled time.
            LastRefillAt = request.Refill is null ? null : now,
            Ratelimits = request.Ratelimits ?? [],
            IpAllowlist = request.IpAllowlist ?? [],
            CreatedAt = now,
            UpdatedAt = now,
        };
        if (Escalation.Authorize(httpContext, before: null, after: await ApiKeyRules.GrantAsync(db, key, cancellationToken), issuesSecret: true) is { } forbidden)
        {
            return forbidden;
        }

        db.Add(key);
        changes.Record(ApiKeyActions.Create, orgId, key.Id, AuditChanges(key));
        await changes.CommitAsync(cancellationToken);
        // A checksum-valid guess of this very key could have been cached as unknown: forget it.
        cache.Evict(key.Hash);
        return new ApiCreated<IssuedApiKey>(IssuedApiKey.From(key, secret, now));
    }

    /// <summary>What the audit trail keeps of a key: its settings, never the secret, its hash or its start.</summary>
    internal static object AuditChanges(ApiKey key) => new
    {
        key.Name,
        key.Permissions,
        key.Roles,
        key.Enabled,
        key.ExpiresAt,
        key.OwnerId,
        key.Remaining,
        key.Refill,
        key.Ratelimits,
        key.IpAllowlist,
    };
}
