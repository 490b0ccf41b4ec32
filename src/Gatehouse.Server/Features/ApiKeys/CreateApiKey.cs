using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class CreateApiKey
{
    public static async Task<Results<ApiCreated<IssuedApiKey>, ApiError>> Handle(
        string orgId, CreateApiKeyRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher,
        KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (error, issued) = await PrepareAsync(orgId, request, httpContext, db, changes, hasher, cache, clock, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<IssuedApiKey>(issued!);
    }

    /// <summary>
    /// Validates and checks a new key and adds it to <paramref name="changes"/> without committing,
    /// so a caller (a service account's creation) can commit it with its own change.
    /// </summary>
    internal static async Task<(ApiError? Error, IssuedApiKey? Issued)> PrepareAsync(
        string orgId, CreateApiKeyRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher,
        KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var validation = new Validation().Permissions("permissions", request.Permissions, required: false);
        ApiKeyRules.Name(validation, request.Name, required: true);
        ApiKeyRules.Prefix(validation, request.Prefix);
        ApiKeyRules.Roles(validation, request.Roles);
        ApiKeyRules.ExpiresAt(validation, request.ExpiresAt, now);
        ApiKeyRules.OwnerId(validation, request.OwnerId);
        var ownerId = ApiKeyRules.OwnerOfNewKey(validation, httpContext, request.OwnerId);
        ApiKeyRules.Meta(validation, request.Meta);
        ApiKeyRules.Remaining(validation, request.Remaining);
        ApiKeyRules.Refill(validation, request.Refill);
        ApiKeyRules.RateLimits(validation, request.Ratelimits);
        ApiKeyRules.IpAllowlist(validation, request.IpAllowlist);
        await ApiKeyRules.MissingRolesAsync(validation, db, orgId, request.Roles, cancellationToken);
        if (!validation.IsValid)
        {
            return (validation.ToError(), null);
        }

        // No permissions is a valid key: one whose roles give it what it needs, or one that only
        // identifies its holder to the organization's backend through verify.
        var permissions = (request.Permissions ?? []).Distinct(StringComparer.Ordinal).ToList();
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
            OwnerId = ownerId,
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
            return (forbidden, null);
        }

        db.Add(key);
        changes.Record(ApiKeyActions.Create, orgId, key.Id, AuditChanges(key));
        // A checksum-valid guess of this very key could have been cached as unknown: forget it.
        changes.AfterCommit(() =>
        {
            cache.Evict(key.Hash);
            return Task.CompletedTask;
        });
        return (null, IssuedApiKey.From(key, secret, now));
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
