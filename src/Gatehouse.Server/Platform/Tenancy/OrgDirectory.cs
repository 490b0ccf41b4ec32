using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.Server.Platform.Tenancy;

/// <summary>
/// Answers "does this live organization exist, and what are its settings?" for every org-scoped
/// request and every rate-limit decision. Answers are cached briefly; an update or delete removes
/// its entry at once on this node.
/// </summary>
public sealed class OrgDirectory(IServiceScopeFactory scopes, IMemoryCache cache)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public async ValueTask<bool> ExistsAsync(string orgId, CancellationToken cancellationToken) =>
        await GetSettingsAsync(orgId, cancellationToken) is not null;

    /// <summary>The settings of a live organization, or null when there is none with this id.</summary>
    public async ValueTask<OrgSettings?> GetSettingsAsync(string orgId, CancellationToken cancellationToken)
    {
        if (!Ids.LooksLike(orgId, "org"))
        {
            return null;
        }

        if (cache.TryGetValue(CacheKey(orgId), out OrgSettings? cached))
        {
            return cached;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var settings = await db.Set<Organization>().AsNoTracking().Where(o => o.Id == orgId && o.DeletedAt == null)
            .Select(o => o.Settings).FirstOrDefaultAsync(cancellationToken);
        if (settings is not null)
        {
            cache.Set(CacheKey(orgId), settings, Lifetime);
        }

        return settings;
    }

    /// <summary>Drops what this node knows of the organization (after an update or delete commits).</summary>
    public void Forget(string orgId) => cache.Remove(CacheKey(orgId));

    private static string CacheKey(string orgId) => "org:" + orgId;
}

/// <summary>
/// Each feature that stores organization data erases it when the organization is deleted,
/// inside the delete's transaction (the vault destroys the org's data keys: crypto-shredding).
/// </summary>
public interface IOrgDataEraser
{
    Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken);

    /// <summary>After the delete committed: drop any cached state of the organization for good.</summary>
    Task AfterEraseCommittedAsync(string orgId) => Task.CompletedTask;

    /// <summary>
    /// The effective permissions of each live credential the erasure revokes: deleting the
    /// organization is revoking them, so the caller must hold all of it (the escalation rule).
    /// </summary>
    Task<IReadOnlyList<IReadOnlyCollection<string>>> RevokedGrantsAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<IReadOnlyCollection<string>>>([]);
}

/// <summary>Each feature adds its counts to <c>GET /orgs/{orgId}/stats</c>.</summary>
public interface IOrgStatsContributor
{
    Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken);
}
