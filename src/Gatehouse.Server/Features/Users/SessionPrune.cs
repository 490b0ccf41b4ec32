using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// Deletes sessions that ended (logout, password change, an administrator) or passed their absolute
/// expiry more than <see cref="Retention"/> ago. They can never be used again; they are kept that
/// long only so an administrator's session list shows recent history. Hourly, on one node.
/// </summary>
public sealed class SessionPrune(IServiceScopeFactory scopes, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<SessionPrune> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "session-prune";

    /// <summary>How long an ended or expired session stays listed before it is deleted.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public override string Name => JobName;

    public override string Description => "Deletes login sessions that ended or expired more than 7 days ago.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var cutoff = Clock.GetUtcNow().UtcDateTime - Retention;
        var deleted = await db.Set<UserSession>()
            .Where(s => s.ExpiresAt < cutoff || (s.EndedAt != null && s.EndedAt < cutoff))
            .ExecuteDeleteAsync(cancellationToken);
        return new JobPass(Succeeded: true, DidWork: deleted > 0);
    }
}
