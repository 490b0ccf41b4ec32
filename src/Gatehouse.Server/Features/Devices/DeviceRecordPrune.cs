using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// Deletes what can never be used again: challenges and auth requests past their expiry, and
/// sessions (with their refresh tokens) that ended or expired more than <see cref="Retention"/> ago.
/// Hourly, on one node.
/// </summary>
public sealed class DeviceRecordPrune(IServiceScopeFactory scopes, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<DeviceRecordPrune> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "device-record-prune";

    /// <summary>How long an ended or expired device session stays readable before it is deleted.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public override string Name => JobName;

    public override string Description => "Deletes expired device challenges and auth requests, and device sessions that ended or expired more than 7 days ago.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var cutoff = now - Retention;
        var deleted = await db.Set<DeviceChallenge>().Where(c => c.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
        // A used token stays until its request expires, so a replay is still recognised as one.
        deleted += await db.Set<DeviceAuthRequest>().Where(r => r.ExpiresAt < now && (r.TokenExpiresAt == null || r.TokenExpiresAt < now)).ExecuteDeleteAsync(cancellationToken);
        var old = db.Set<DeviceSession>().Where(s => s.ExpiresAt < cutoff || (s.EndedAt != null && s.EndedAt < cutoff)).Select(s => s.Id);
        deleted += await db.Set<DeviceRefreshToken>().Where(t => old.Contains(t.SessionId)).ExecuteDeleteAsync(cancellationToken);
        deleted += await db.Set<DeviceSession>().Where(s => s.ExpiresAt < cutoff || (s.EndedAt != null && s.EndedAt < cutoff)).ExecuteDeleteAsync(cancellationToken);
        return new JobPass(Succeeded: true, DidWork: deleted > 0);
    }
}
