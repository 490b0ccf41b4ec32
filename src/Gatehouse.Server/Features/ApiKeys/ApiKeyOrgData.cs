using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Deleting an organization revokes all its keys (the rows stay for the audit trail) and evicts
/// them from the cache; stats count its live keys and its verifications of the last 24 hours.
/// </summary>
internal sealed class ApiKeyOrgData(KeyRecordCache cache, KeyUsageRecorder usage, TimeProvider clock) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var now = (DateTime?)clock.GetUtcNow().UtcDateTime;
        await db.Owned<ApiKey>(orgId).Where(k => k.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), cancellationToken);
        cache.EvictOrg(orgId);
    }

    public async Task<IReadOnlyList<IReadOnlyCollection<string>>> RevokedGrantsAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        // Many keys share a few permission sets: compare each distinct one once.
        var sets = await db.Owned<ApiKey>(orgId).Where(k => k.RevokedAt == null)
            .Select(k => new { k.Permissions, k.Roles }).Distinct().ToListAsync(cancellationToken);
        var roles = await new RoleDirectory(db).PermissionsByNameAsync(orgId, null, cancellationToken);
        return [.. sets.Select(s => (IReadOnlyCollection<string>)s.Permissions
            .Concat(s.Roles.SelectMany(name => roles.GetValueOrDefault(name) ?? []))
            .ToHashSet(StringComparer.Ordinal))];
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        // Again after the commit: a verify that reloaded a key between the eviction and the commit saw it unrevoked.
        cache.EvictOrg(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var nowValue = (DateTime?)now;
        stats["apiKeys"] = await db.Owned<ApiKey>(orgId).LongCountAsync(
            k => k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > nowValue), cancellationToken);

        await usage.FlushAsync(cancellationToken);
        // Hour buckets: the window is the 24 whole hours before the current one, plus the current one.
        var since = (now.Ticks - now.Ticks % TimeSpan.TicksPerHour - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond - 24 * 3600;
        var counts = await db.Owned<ApiKeyUsage>(orgId).Where(u => u.Bucket > since)
            .GroupBy(u => u.Code).Select(g => new { Code = g.Key, Count = g.Sum(u => u.Count) }).ToListAsync(cancellationToken);
        stats["verifications"] = counts.OrderBy(c => c.Code, StringComparer.Ordinal).ToDictionary(c => c.Code, c => c.Count, StringComparer.Ordinal);
    }
}
