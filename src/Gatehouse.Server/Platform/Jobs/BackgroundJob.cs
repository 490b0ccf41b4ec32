namespace Gatehouse.Server.Platform.Jobs;

/// <summary>Where a job may run when several nodes share one database.</summary>
public enum JobPlacement
{
    /// <summary>One node at a time: a pass holds the job's lease row (docs/decisions/0012-job-leases.md).</summary>
    OneNodeAtATime,

    /// <summary>Every node: the job works on state of its own node, or claims rows one by one.</summary>
    EveryNode,
}

/// <summary>
/// A background job as the job registry, the admin routes and the runner see it: what it is called,
/// what it does, how often it runs, where it may run, and one pass of its work. Implemented by
/// <see cref="PeriodicJob"/> and by jobs whose schedule lives elsewhere (the usage flush runs on a
/// thread of its own); declared by its feature through <c>FeatureServices.Job</c>.
/// </summary>
public interface IBackgroundJob
{
    /// <summary>The job's name in the registry, the admin routes, the run rows and the logs.</summary>
    string Name { get; }

    /// <summary>One sentence for operators: what a pass does.</summary>
    string Description { get; }

    /// <summary>Time between scheduled passes.</summary>
    TimeSpan Interval { get; }

    JobPlacement Placement { get; }

    /// <summary>True when a manual run can be limited to one organization (<c>{job, orgId}</c>).</summary>
    bool AcceptsOrg => false;

    /// <summary>False keeps the job registered but without scheduled passes on this node (a setting switched it off); manual runs still work.</summary>
    bool Scheduled => true;

    /// <summary>One pass; a failure may throw (the runner records it and the next pass retries).</summary>
    Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken);
}

/// <summary>What one pass of a job did: whether all of it succeeded, how much work is left queued, and whether it did anything at all.</summary>
/// <param name="Succeeded">Every part of the pass worked.</param>
/// <param name="Queued">Work left waiting (for the health report and the stats).</param>
/// <param name="DidWork">False for a pass that found nothing to do: a scheduled pass like that leaves no run row.</param>
public readonly record struct JobPass(bool Succeeded, long Queued = 0, bool DidWork = true);

/// <summary>What a pass is asked to do: the organization it is limited to (a manual run may name one) and where it reports progress.</summary>
public sealed record JobPassContext(string? OrgId, JobProgress Progress)
{
    /// <summary>A pass outside the runner (a test driving a job by hand): every organization, progress kept nowhere.</summary>
    public static JobPassContext Detached() => new(null, new JobProgress(null));
}

/// <summary>
/// Progress of a long pass (<c>done</c> of <c>total</c> items), kept for the run's row; a pass that
/// never reports shows none. Reports are written in order, one at a time, and never fail the pass.
/// </summary>
public sealed class JobProgress(Func<long, long, Task>? persist)
{
    private readonly SemaphoreSlim _writes = new(1, 1);

    public long Done { get; private set; }

    public long? Total { get; private set; }

    public async Task ReportAsync(long done, long total)
    {
        Done = done;
        Total = total;
        if (persist is null)
        {
            return;
        }

        await _writes.WaitAsync();
        try
        {
            await persist(done, total);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Progress is a view for operators; the pass goes on without it.
        }
        finally
        {
            _writes.Release();
        }
    }
}
