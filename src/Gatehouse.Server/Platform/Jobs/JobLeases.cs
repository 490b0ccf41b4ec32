using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Jobs;

/// <summary>
/// The lease rows of jobs that run on one node at a time (decision 0012). Taking a lease is one
/// conditional upsert, the same SQL on SQLite and PostgreSQL: it inserts the row, or takes it over
/// when this node holds it already or it has expired; zero rows changed means another node holds
/// it. The holder moves <c>expires_at</c> on while its pass runs and sets it to the present when
/// the pass ends, so a dead node's lease lapses within one lease length.
/// </summary>
public sealed class JobLeases(IServiceScopeFactory scopes, TimeProvider clock, JobsOptions options)
{
    public TimeSpan Length => TimeSpan.FromSeconds(options.LeaseSeconds);

    /// <summary>
    /// Takes the job's lease for this node. <paramref name="dueAfter"/> (a scheduled pass) also
    /// refuses it when any node finished a pass after that time: the nodes share one schedule.
    /// Returns the node whose expired lease was taken over, or null (none, or this node's own).
    /// </summary>
    public async Task<(bool Taken, string? TakenFrom)> TryTakeAsync(string job, DateTime? dueAfter, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var before = await db.Set<JobLease>().AsNoTracking().FirstOrDefaultAsync(l => l.Job == job, cancellationToken);
        var expires = now + Length;
        int taken;
        if (dueAfter is { } due)
        {
            taken = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO job_leases (job, holder, expires_at) VALUES ({job}, {ClusterNode.Id}, {expires})
                ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE (job_leases.holder = excluded.holder OR job_leases.expires_at < {now})
                  AND (job_leases.last_finished_at IS NULL OR job_leases.last_finished_at <= {due})
                """, cancellationToken);
        }
        else
        {
            taken = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO job_leases (job, holder, expires_at) VALUES ({job}, {ClusterNode.Id}, {expires})
                ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE job_leases.holder = excluded.holder OR job_leases.expires_at < {now}
                """, cancellationToken);
        }

        if (taken == 0)
        {
            return (false, null);
        }

        // A holder that let its lease lapse without releasing it died (or stalled past the lease) mid-pass.
        var takenFrom = before is not null && before.Holder != ClusterNode.Id && before.LastFinishedAt != before.ExpiresAt && before.ExpiresAt < now
            ? before.Holder
            : null;
        return (true, takenFrom);
    }

    /// <summary>Moves the lease on; false when this node no longer holds it (it lapsed and another node took it).</summary>
    public async Task<bool> RenewAsync(string job, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var expires = clock.GetUtcNow().UtcDateTime + Length;
        return await db.Set<JobLease>().Where(l => l.Job == job && l.Holder == ClusterNode.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiresAt, expires), cancellationToken) == 1;
    }

    /// <summary>Ends this node's lease now and notes the finished pass for the shared schedule.</summary>
    public async Task ReleaseAsync(string job, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Set<JobLease>().Where(l => l.Job == job && l.Holder == ClusterNode.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiresAt, now).SetProperty(l => l.LastFinishedAt, now), cancellationToken);
    }

    /// <summary>The node holding a live lease on the job, or null.</summary>
    public async Task<string?> HolderAsync(string job, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        return await db.Set<JobLease>().AsNoTracking().Where(l => l.Job == job && l.ExpiresAt > now)
            .Select(l => l.Holder).FirstOrDefaultAsync(cancellationToken);
    }
}

/// <summary>Settings of the background jobs (<c>Gatehouse:Jobs</c>).</summary>
public sealed class JobsOptions
{
    /// <summary>How long a lease lasts without renewal: a dead node's job waits at most this long for another node.</summary>
    [System.ComponentModel.DataAnnotations.Range(2, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>Recorded runs older than this are pruned.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 365)]
    public int RunRetentionDays { get; set; } = 7;

    /// <summary>At most this many recorded runs are kept per job, however young.</summary>
    [System.ComponentModel.DataAnnotations.Range(10, 100_000)]
    public int RunsKeptPerJob { get; set; } = 1000;
}
