using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Cluster;
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

    /// <summary>Drops what this node knows of every organization (it may have missed other nodes' changes).</summary>
    public void ForgetAll()
    {
        if (cache is MemoryCache memory)
        {
            memory.Clear();
        }
    }

    private static string CacheKey(string orgId) => "org:" + orgId;
}

/// <summary>An organization changed or deleted on another node is read again here.</summary>
public sealed class OrgDirectoryClusterChanges(OrgDirectory directory) : IClusterChangeHandler
{
    public void Apply(IReadOnlyList<ClusterChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.OrgId is { } orgId && change.Action.StartsWith("org.", StringComparison.Ordinal))
            {
                directory.Forget(orgId);
            }
        }
    }

    public void Reset() => directory.ForgetAll();
}

/// <summary>
/// Refuses, inside the change set's transaction, any change recorded in an organization that no
/// longer exists: a node whose directory still believed in it a moment ago cannot create anything
/// there. On PostgreSQL the organization rows are key-share-locked until COMMIT (the lock a foreign
/// key check takes anyway, so it is never upgraded), so a concurrent delete, which takes the row
/// <c>FOR UPDATE</c> first, waits for this change and then erases what it made, or this change
/// waits for the delete and fails. It runs before every other participant, so the audit chain's
/// lock is never held while waiting here.
/// </summary>
public sealed class LiveOrganizationGuard(DatabaseTarget database) : IChangeSetParticipant
{
    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        HashSet<string>? orgIds = null;
        foreach (var action in actions)
        {
            // An organization created in this transaction is not saved yet; a delete is this very change.
            if (action.OrgId is { } orgId && action.Action.Name is not ("org.create" or "org.delete"))
            {
                (orgIds ??= new(StringComparer.Ordinal)).Add(orgId);
            }
        }

        if (orgIds is null)
        {
            return;
        }

        var ids = orgIds.ToArray();
        var live = database.Provider == DatabaseProvider.Postgres
            ? await db.Database.SqlQueryRaw<string>("SELECT id AS \"Value\" FROM organizations WHERE id = ANY(@ids) AND deleted_at IS NULL FOR KEY SHARE",
                new Npgsql.NpgsqlParameter("ids", ids)).ToListAsync(cancellationToken)
            : await db.Set<Organization>().Where(o => ids.Contains(o.Id) && o.DeletedAt == null).Select(o => o.Id).ToListAsync(cancellationToken);
        if (live.Count < ids.Length)
        {
            throw new OrganizationGoneException();
        }
    }
}

/// <summary>The delete's side of <see cref="LiveOrganizationGuard"/>.</summary>
public static class OrganizationDeleteLock
{
    /// <summary>
    /// Takes the organization's row before anything of it is erased: a change that share-locked it
    /// first commits before the erasure starts (so the erasure sees what it made); one that comes
    /// later waits for the delete and is refused. PostgreSQL only: SQLite runs one writer at a time.
    /// </summary>
    public static async Task AcquireAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlRawAsync("SELECT 1 FROM organizations WHERE id = @id FOR UPDATE", [new Npgsql.NpgsqlParameter("id", orgId)], cancellationToken);
        }
    }
}

/// <summary>A change was attempted in an organization deleted meanwhile: answered 404, nothing kept.</summary>
public sealed class OrganizationGoneException() : Exception("The organization was deleted while the request ran.");

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
