using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.Server.Platform.Tenancy;

/// <summary>
/// Answers "does this live organization exist?" for every org-scoped request. Positive answers
/// are cached briefly; a delete removes its entry at once on this node.
/// </summary>
public sealed class OrgDirectory(IServiceScopeFactory scopes, IMemoryCache cache)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public async ValueTask<bool> ExistsAsync(string orgId, CancellationToken cancellationToken)
    {
        if (!Ids.LooksLike(orgId, "org"))
        {
            return false;
        }

        if (cache.TryGetValue(CacheKey(orgId), out _))
        {
            return true;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var exists = await db.Set<Organization>().AnyAsync(o => o.Id == orgId && o.DeletedAt == null, cancellationToken);
        if (exists)
        {
            cache.Set(CacheKey(orgId), true, Lifetime);
        }

        return exists;
    }

    public void Forget(string orgId) => cache.Remove(CacheKey(orgId));

    private static string CacheKey(string orgId) => "org-exists:" + orgId;
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
}

/// <summary>Each feature adds its counts to <c>GET /orgs/{orgId}/stats</c>.</summary>
public interface IOrgStatsContributor
{
    Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken);
}
