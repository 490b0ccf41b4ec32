using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Jobs;

/// <summary>Keeps <c>job_runs</c> bounded: runs older than the retention period go, and beyond the newest N of each job.</summary>
public sealed class JobRunPrune(IServiceScopeFactory scopes, JobsOptions options, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<JobRunPrune> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "job-runs-prune";

    public override string Name => JobName;

    public override string Description => "Deletes recorded job runs past the retention period, and beyond the newest runs kept per job.";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var cutoff = Clock.GetUtcNow().UtcDateTime - TimeSpan.FromDays(options.RunRetentionDays);
        // Unfinished runs stay: one may still be running (a dead node's are closed when its lease is taken over).
        var pruned = await db.Set<JobRun>().Where(r => r.StartedAt < cutoff && r.FinishedAt != null).ExecuteDeleteAsync(cancellationToken);
        var names = await db.Set<JobRun>().Select(r => r.Job).Distinct().ToListAsync(cancellationToken);
        foreach (var name in names)
        {
            var oldestKept = await db.Set<JobRun>().Where(r => r.Job == name).OrderByDescending(r => r.Id)
                .Skip(options.RunsKeptPerJob - 1).Select(r => r.Id).FirstOrDefaultAsync(cancellationToken);
            if (oldestKept is not null)
            {
                // Ids are time-ordered, so "older than the oldest kept" is a comparison of ids.
                pruned += await db.Set<JobRun>().Where(r => r.Job == name && string.Compare(r.Id, oldestKept) < 0 && r.FinishedAt != null)
                    .ExecuteDeleteAsync(cancellationToken);
            }
        }

        return new JobPass(Succeeded: true, DidWork: pruned > 0);
    }
}
