using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Jobs;

/// <summary>Why a pass runs, and so what it waits for.</summary>
public enum JobTrigger
{
    /// <summary>The job's own schedule: skipped when the job is busy here or elsewhere, or another node ran it recently.</summary>
    Schedule,

    /// <summary>A pass asked for now (a wake-up, a test): waits for the job to be free.</summary>
    Now,

    /// <summary>An administrator's trigger: like <see cref="Now"/>, and recorded from the moment it is accepted.</summary>
    Manual,
}

/// <summary>
/// Runs one pass of a job: one pass at a time on this node; for a job that runs on one node at a
/// time, under its lease (taken, renewed while the pass runs, released after it); reported to the
/// registry; recorded in <c>job_runs</c> when it was manual, failed or did work, so an idle job
/// polling every second leaves no trail. A failure is logged and recorded, never thrown.
/// </summary>
public sealed class JobRunner(IServiceScopeFactory scopes, JobRegistry registry, JobLeases leases, TimeProvider clock, ILogger<JobRunner> logger)
{
    /// <summary>How often a pass waiting for another node's lease asks again.</summary>
    private static readonly TimeSpan LeasePoll = TimeSpan.FromMilliseconds(500);

    private const int ErrorLength = 500;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    /// <summary>
    /// Records an accepted manual run before it starts, so its id can be read at once; returns null,
    /// or the id of a manual run of the job that a live node accepted and has not finished — then
    /// nothing is recorded. On PostgreSQL the check and the insert are serialized per job across
    /// nodes (an advisory lock), so triggers sent to several nodes at once accept one run; a dead
    /// node's unfinished run does not count.
    /// </summary>
    public async Task<string?> TryAcceptManualAsync(string runId, IBackgroundJob job, string? orgId, ClusterNodes nodes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (job.Placement == JobPlacement.OneNodeAtATime)
        {
            if (db.IsPostgres)
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"job-trigger:" + job.Name}))", cancellationToken);
            }

            var unfinished = await db.Set<JobRun>().AsNoTracking()
                .Where(r => r.Job == job.Name && r.Trigger == JobRun.Manual && r.FinishedAt == null && r.Node != ClusterNode.Id)
                .OrderByDescending(r => r.Id).Select(r => new { r.Id, r.Node }).ToListAsync(cancellationToken);
            foreach (var run in unfinished)
            {
                if (await nodes.IsAliveAsync(db, run.Node, cancellationToken))
                {
                    return run.Id;
                }
            }
        }

        db.Add(new JobRun
        {
            Id = runId,
            Job = job.Name,
            OrgId = orgId,
            Trigger = JobRun.Manual,
            StartedAt = clock.GetUtcNow().UtcDateTime,
            Node = ClusterNode.Id,
        });
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    /// <summary>
    /// Runs a pass of <paramref name="job"/>; <paramref name="manualRunId"/> is the recorded run of a
    /// manual trigger. Returns whether it ran and succeeded (null: skipped, the job was busy or not due).
    /// </summary>
    public async Task<bool?> RunAsync(IBackgroundJob job, JobTrigger trigger, CancellationToken cancellationToken, string? manualRunId = null, string? orgId = null)
    {
        var gate = _gates.GetOrAdd(job.Name, _ => new SemaphoreSlim(1, 1));
        if (trigger == JobTrigger.Schedule)
        {
            // An accepted manual run goes first; the schedule takes its next tick.
            if (registry.HasPending(job.Name) || !await gate.WaitAsync(TimeSpan.Zero, cancellationToken))
            {
                return null;
            }
        }
        else
        {
            try
            {
                await gate.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (manualRunId is not null)
            {
                registry.MarkStopped(job.Name, manualRunId);
                throw;
            }
        }

        try
        {
            try
            {
                if (job.Placement == JobPlacement.OneNodeAtATime && !await TakeLeaseAsync(job, trigger, manualRunId, cancellationToken))
                {
                    return null;
                }
            }
            catch (OperationCanceledException) when (manualRunId is not null)
            {
                await FinishQuietlyAsync(manualRunId, ok: false, "The node stopped before the run could start.", null);
                throw;
            }

            try
            {
                return await RunUnderLeaseAsync(job, trigger, manualRunId, orgId, cancellationToken);
            }
            finally
            {
                if (job.Placement == JobPlacement.OneNodeAtATime)
                {
                    await ReleaseQuietlyAsync(job.Name);
                }
            }
        }
        finally
        {
            registry.MarkStopped(job.Name, manualRunId);
            gate.Release();
        }
    }

    private async Task<bool> TakeLeaseAsync(IBackgroundJob job, JobTrigger trigger, string? manualRunId, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // A scheduled pass is due when no node finished one within most of the interval.
                DateTime? dueAfter = trigger == JobTrigger.Schedule ? clock.GetUtcNow().UtcDateTime - job.Interval * 0.9 : null;
                var (taken, takenFrom) = await leases.TryTakeAsync(job.Name, dueAfter, cancellationToken);
                if (taken)
                {
                    if (takenFrom is not null)
                    {
                        await AbandonRunsAsync(job.Name, takenFrom, cancellationToken);
                    }

                    return true;
                }

                if (trigger == JobTrigger.Schedule)
                {
                    return false;
                }

                await Task.Delay(LeasePoll, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The database is unreachable: the pass could not have run anyway; the next tick asks again.
            logger.LogWarning(ex, "Job {Job} could not take its lease", job.Name);
            registry.ReportRun(job.Name, succeeded: false, clock.GetUtcNow().UtcDateTime);
            if (manualRunId is not null)
            {
                await FinishQuietlyAsync(manualRunId, ok: false, "The job's lease could not be taken: the database did not answer.", null);
            }

            return false;
        }
    }

    private async Task<bool> RunUnderLeaseAsync(IBackgroundJob job, JobTrigger trigger, string? manualRunId, string? orgId, CancellationToken cancellationToken)
    {
        var startedAt = clock.GetUtcNow().UtcDateTime;
        registry.MarkRunning(job.Name, manualRunId);
        if (manualRunId is not null)
        {
            await MarkStartedQuietlyAsync(manualRunId, startedAt);
        }

        using var pass = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var lostLease = false;
        var heartbeat = job.Placement == JobPlacement.OneNodeAtATime
            ? RenewWhileRunningAsync(job.Name, () => { lostLease = true; pass.Cancel(); }, pass.Token)
            : Task.CompletedTask;
        var progress = new JobProgress(manualRunId is null ? null : (done, total) => SaveProgressAsync(manualRunId, done, total));
        JobPass outcome;
        string? error = null;
        try
        {
            outcome = await job.RunPassAsync(new JobPassContext(orgId, progress), pass.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Job {Job} failed; the next pass retries", job.Name);
            outcome = new JobPass(Succeeded: false, registry.Find(job.Name)?.QueueDepth ?? 0);
            error = lostLease ? "The node lost the job's lease (it stalled past the lease length); the pass was stopped." : OneLine(ex);
        }
        finally
        {
            await pass.CancelAsync();
            await heartbeat;
        }

        var finishedAt = clock.GetUtcNow().UtcDateTime;
        registry.ReportRun(job.Name, outcome.Succeeded, finishedAt, outcome.Queued);
        error ??= outcome.Succeeded ? null : "The pass did not finish all of its work; the next pass retries the rest.";
        var total = progress.Total;
        if (manualRunId is not null)
        {
            await FinishQuietlyAsync(manualRunId, outcome.Succeeded, error, total is null ? null : (progress.Done, total.Value));
        }
        else if (!outcome.Succeeded || outcome.DidWork)
        {
            await RecordQuietlyAsync(new JobRun
            {
                Id = Ids.New("jrn"),
                Job = job.Name,
                Trigger = JobRun.Schedule,
                StartedAt = startedAt,
                FinishedAt = finishedAt,
                Ok = outcome.Succeeded,
                Error = error,
                Node = ClusterNode.Id,
                Done = total is null ? null : progress.Done,
                Total = total,
            });
        }

        return outcome.Succeeded;
    }

    private async Task RenewWhileRunningAsync(string job, Action lost, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                // Real time: the lease must outlive a stall of the process, whatever clock the pass uses.
                await Task.Delay(leases.Length / 3, cancellationToken);
                try
                {
                    if (!await leases.RenewAsync(job, cancellationToken))
                    {
                        logger.LogError("Job {Job} lost its lease to another node; this pass stops", job);
                        lost();
                        return;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One missed renewal is not the end: the lease lasts three periods.
                    logger.LogWarning(ex, "Renewing the lease of job {Job} failed", job);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The pass ended.
        }
    }

    /// <summary>The runs a dead node left unfinished end as failed, so nobody waits on them.</summary>
    private async Task AbandonRunsAsync(string job, string deadNode, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var abandoned = await db.Set<JobRun>().Where(r => r.Job == job && r.Node == deadNode && r.FinishedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.FinishedAt, now).SetProperty(r => r.Ok, false)
                .SetProperty(r => r.Error, "The node running it stopped before it finished; its lease expired and another node took the job over."), cancellationToken);
        logger.LogWarning("Job {Job}: the lease of node {Node} expired; taken over ({Runs} unfinished runs closed)", job, deadNode, abandoned);
    }

    private Task MarkStartedQuietlyAsync(string runId, DateTime startedAt) =>
        QuietlyAsync(db => db.Set<JobRun>().Where(r => r.Id == runId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.StartedAt, startedAt).SetProperty(r => r.Node, ClusterNode.Id)));

    private Task SaveProgressAsync(string runId, long done, long total) =>
        QuietlyAsync(db => db.Set<JobRun>().Where(r => r.Id == runId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Done, done).SetProperty(r => r.Total, total)));

    private Task FinishQuietlyAsync(string runId, bool ok, string? error, (long Done, long Total)? progress)
    {
        var finishedAt = clock.GetUtcNow().UtcDateTime;
        return QuietlyAsync(db => progress is var (done, total)
            ? db.Set<JobRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.FinishedAt, finishedAt)
                .SetProperty(r => r.Ok, ok).SetProperty(r => r.Error, error).SetProperty(r => r.Done, done).SetProperty(r => r.Total, total))
            : db.Set<JobRun>().Where(r => r.Id == runId).ExecuteUpdateAsync(s => s.SetProperty(r => r.FinishedAt, finishedAt)
                .SetProperty(r => r.Ok, ok).SetProperty(r => r.Error, error)));
    }

    private Task RecordQuietlyAsync(JobRun run) => QuietlyAsync(async db =>
    {
        db.Add(run);
        return await db.SaveChangesAsync();
    });

    private Task ReleaseQuietlyAsync(string job) => QuietlyAsync(async db =>
    {
        await leases.ReleaseAsync(job, CancellationToken.None);
        return 1;
    });

    /// <summary>The record of a run is bookkeeping: losing it (the database is down) must not fail the job or its next pass.</summary>
    private async Task QuietlyAsync(Func<GatehouseDb, Task<int>> write)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await write(scope.ServiceProvider.GetRequiredService<GatehouseDb>());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning(ex, "Recording a job run failed");
        }
    }

    /// <summary>The exception's own message, first line, bounded: never a stack trace.</summary>
    private static string OneLine(Exception ex)
    {
        var message = ex.Message.Split('\n', 2)[0].Trim();
        return message.Length <= ErrorLength ? message : message[..ErrorLength];
    }
}
