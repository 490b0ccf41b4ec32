using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// API keys that belong to an owner (a service account or a user, named by <c>ownerId</c>): they
/// stop while the owner is disabled and are revoked with it. The feature owning the actor calls
/// this inside its own change set (<see cref="IOwnedCredentials"/>), and issues its keys here.
/// </summary>
[FeatureApi]
public sealed class OwnedApiKeys(GatehouseDb db, SecretHasher hasher, KeyRecordCache cache, TimeProvider clock) : IOwnedCredentials
{
    /// <summary>
    /// Marks the owner's live keys suspended (or not). The keys' own <c>enabled</c> is left alone,
    /// so resuming restores exactly what was there; the owner's change records the one audit event.
    /// </summary>
    public async Task SetOwnerSuspendedAsync(ChangeSet changes, string orgId, string ownerId, bool suspended, CancellationToken cancellationToken)
    {
        var keys = await db.Owned<ApiKey>(orgId)
            .Where(k => k.OwnerId == ownerId && k.RevokedAt == null && k.OwnerSuspended != suspended)
            .ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var key in keys)
        {
            key.OwnerSuspended = suspended;
            key.UpdatedAt = now;
        }

        EvictAfterCommit(changes, keys);
    }

    /// <summary>
    /// Revokes the owner's live keys, one <c>api_key.revoke</c> event each: a key's own history (and
    /// a webhook subscriber that tracks keys) sees its end exactly as if it had been revoked alone.
    /// </summary>
    public async Task<int> RevokeOwnedAsync(ChangeSet changes, string orgId, string ownerId, CancellationToken cancellationToken)
    {
        var keys = await db.Owned<ApiKey>(orgId).Where(k => k.OwnerId == ownerId && k.RevokedAt == null).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var key in keys)
        {
            key.RevokedAt = now;
            key.UpdatedAt = now;
            changes.Record(ApiKeyActions.Revoke, orgId, key.Id, new { key.Name, key.OwnerId, reason = "owner_deleted" });
        }

        EvictAfterCommit(changes, keys);
        return keys.Count;
    }

    /// <summary>The effective permissions (own and roles') of each live key of the owner, by key id.</summary>
    public async Task<IReadOnlyList<(string KeyId, IReadOnlyCollection<string> Permissions)>> EffectivePermissionsAsync(
        string orgId, string ownerId, CancellationToken cancellationToken)
    {
        var keys = await db.Owned<ApiKey>(orgId).AsNoTracking().Where(k => k.OwnerId == ownerId && k.RevokedAt == null)
            .OrderBy(k => k.CreatedAt).Select(k => new { k.Id, k.Permissions, k.Roles }).ToListAsync(cancellationToken);
        var roles = keys.Any(k => k.Roles.Count > 0) ? await new RoleDirectory(db).PermissionsByNameAsync(orgId, null, cancellationToken) : [];
        return [.. keys.Select(k => (k.Id, (IReadOnlyCollection<string>)k.Permissions
            .Concat(k.Roles.SelectMany(name => roles.GetValueOrDefault(name) ?? []))
            .ToHashSet(StringComparer.Ordinal)))];
    }

    /// <summary>
    /// Checks and adds a new key to <paramref name="changes"/> exactly as <c>POST …/api-keys</c> does
    /// (validation, the ownership rule, escalation), without committing: the caller commits it with
    /// its own change. The issued key holds its secret; show it once.
    /// </summary>
    public Task<(ApiError? Error, IssuedApiKey? Issued)> IssueAsync(
        string orgId, CreateApiKeyRequest request, HttpContext httpContext, ChangeSet changes, CancellationToken cancellationToken) =>
        CreateApiKey.PrepareAsync(orgId, request, httpContext, db, changes, hasher, cache, clock, cancellationToken);

    private void EvictAfterCommit(ChangeSet changes, List<ApiKey> keys)
    {
        if (keys.Count == 0)
        {
            return;
        }

        var hashes = keys.Select(k => k.Hash).ToList();
        changes.AfterCommit(() =>
        {
            foreach (var hash in hashes)
            {
                cache.Evict(hash);
            }

            return Task.CompletedTask;
        });
    }
}
