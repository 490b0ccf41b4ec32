using System.Xml;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Jobs;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Jobs;

public static class JobOperations
{
    public static async Task<ApiOk<IReadOnlyList<JobView>>> List(
        IEnumerable<IBackgroundJob> jobs, JobRegistry registry, JobLeases leases, GatehouseDb db, CancellationToken cancellationToken)
    {
        var views = new List<JobView>();
        foreach (var job in jobs.OrderBy(j => j.Name, StringComparer.Ordinal))
        {
            var running = await IsRunningAsync(job, registry, leases, cancellationToken);
            var state = running ? "running"
                : registry.Find(job.Name)?.ConsecutiveFailures >= 3 ? "failing"
                : job.Scheduled ? "idle" : "unscheduled";
            views.Add(new JobView(job.Name, job.Description, XmlConvert.ToString(job.Interval), (long)job.Interval.TotalSeconds,
                job.Placement == JobPlacement.OneNodeAtATime ? "one-node" : "every-node", state,
                await LastRunAsync(db, job.Name, cancellationToken), registry.NextRunAt(job.Name), running));
        }

        return new ApiOk<IReadOnlyList<JobView>>(views);
    }

    /// <summary>
    /// Accepts a run and starts it in the background. A job already running (on this node, or under
    /// its lease on another), or a one-node job whose manual run another live node accepted and has
    /// not finished, is 409 CONFLICT with that run's id in <c>details.runId</c> when it has one: a
    /// second run right behind the first would only repeat it.
    /// </summary>
    public static async Task<Results<ApiOk<TriggerJobResponse>, ApiError>> Trigger(
        TriggerJobRequest request, IEnumerable<IBackgroundJob> jobs, JobRegistry registry, JobLeases leases, JobRunner runner, OrgDirectory orgs,
        IHostApplicationLifetime lifetime, GatehouseDb db, ClusterNodes nodes, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("job", request.Job, maxLength: 100);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var job = Find(jobs, request.Job!);
        if (job is null)
        {
            return ApiError.NotFound("job");
        }

        if (request.OrgId is { } orgId)
        {
            if (!job.AcceptsOrg)
            {
                return ApiError.Validation("orgId", "not_supported");
            }

            if (!await orgs.ExistsAsync(orgId, cancellationToken))
            {
                return ApiError.NotFound("organization");
            }
        }

        if (job.Placement == JobPlacement.OneNodeAtATime && await leases.HolderAsync(job.Name, cancellationToken) is { } holder && holder != ClusterNode.Id)
        {
            var elsewhere = await db.Set<JobRun>().AsNoTracking().Where(r => r.Job == job.Name && r.Node == holder && r.FinishedAt == null)
                .OrderByDescending(r => r.Id).Select(r => r.Id).FirstOrDefaultAsync(cancellationToken);
            return AlreadyRunning(job.Name, elsewhere);
        }

        var runId = Ids.New("jrn");
        if (!registry.TryAcceptManual(job.Name, runId, out var existing))
        {
            return AlreadyRunning(job.Name, existing);
        }

        string? acceptedElsewhere;
        try
        {
            acceptedElsewhere = await runner.TryAcceptManualAsync(runId, job, request.OrgId, nodes, cancellationToken);
        }
        catch
        {
            registry.MarkStopped(job.Name, runId);
            throw;
        }

        if (acceptedElsewhere is not null)
        {
            registry.MarkStopped(job.Name, runId);
            return AlreadyRunning(job.Name, acceptedElsewhere);
        }

        // The run outlives the request, not the server: shutdown cancels it (a one-node job's lease then lapses).
        var stopping = lifetime.ApplicationStopping;
        _ = Task.Run(() => runner.RunAsync(job, JobTrigger.Manual, stopping, runId, request.OrgId), CancellationToken.None);
        return new ApiOk<TriggerJobResponse>(new TriggerJobResponse(runId), StatusCodes.Status202Accepted);
    }

    public static async Task<Results<ApiOk<JobStats>, ApiError>> Stats(
        string jobName, IEnumerable<IBackgroundJob> jobs, JobRegistry registry, GatehouseDb db, CancellationToken cancellationToken)
    {
        var job = Find(jobs, jobName);
        if (job is null)
        {
            return ApiError.NotFound("job");
        }

        var runs = db.Set<JobRun>().AsNoTracking().Where(r => r.Job == job.Name);
        var count = await runs.LongCountAsync(cancellationToken);
        var failures = await runs.LongCountAsync(r => r.Ok == false, cancellationToken);
        return new ApiOk<JobStats>(new JobStats(count, failures, await LastRunAsync(db, job.Name, cancellationToken),
            registry.Find(job.Name)?.QueueDepth ?? 0, registry.NextRunAt(job.Name)));
    }

    public static async Task<Results<ApiOk<JobRunView>, ApiError>> GetRun(string runId, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!Ids.LooksLike(runId, "jrn"))
        {
            return ApiError.NotFound("job run");
        }

        var run = await db.Set<JobRun>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, cancellationToken);
        if (run is null)
        {
            return ApiError.NotFound("job run");
        }

        var state = run.FinishedAt is null ? "running" : run.Ok == true ? "succeeded" : "failed";
        return new ApiOk<JobRunView>(new JobRunView(run.Id, run.Job, run.OrgId, run.Trigger, state, run.StartedAt, run.FinishedAt, run.Ok, run.Error, run.Node,
            run.Total is { } total ? new JobProgressView(run.Done ?? 0, total) : null));
    }

    private static IBackgroundJob? Find(IEnumerable<IBackgroundJob> jobs, string name) =>
        jobs.FirstOrDefault(j => string.Equals(j.Name, name, StringComparison.Ordinal));

    private static ApiError AlreadyRunning(string job, string? runId) =>
        new(ErrorCodes.Conflict, $"The job '{job}' is running; wait for its run to finish.",
            new Dictionary<string, object?> { ["runId"] = runId });

    private static async Task<bool> IsRunningAsync(IBackgroundJob job, JobRegistry registry, JobLeases leases, CancellationToken cancellationToken) =>
        registry.IsRunning(job.Name, out _)
        || (job.Placement == JobPlacement.OneNodeAtATime && await leases.HolderAsync(job.Name, cancellationToken) is not null);

    private static async Task<JobRunSummary?> LastRunAsync(GatehouseDb db, string job, CancellationToken cancellationToken) =>
        await db.Set<JobRun>().AsNoTracking().Where(r => r.Job == job).OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.Id)
            .Select(r => new JobRunSummary(r.StartedAt, r.FinishedAt, r.Ok, r.Error, r.Node)).FirstOrDefaultAsync(cancellationToken);
}
