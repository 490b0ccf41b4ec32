namespace Gatehouse.Server.Platform.Jobs;

/// <summary>
/// The base of a background job that runs one pass at a time: it registers with the
/// <see cref="JobRegistry"/>, ticks on the injected clock (a test advances a fake clock instead of
/// sleeping), can be woken early, reports every pass, and survives a failed pass — the next tick
/// retries. Tests call <see cref="RunNowAsync"/> to run a pass on demand.
/// </summary>
public abstract class PeriodicJob(JobRegistry jobs, TimeProvider clock, ILogger logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>The injected clock, for the pass itself.</summary>
    protected TimeProvider Clock => clock;

    /// <summary>The job's logger, for what a pass reports beyond success or failure.</summary>
    protected ILogger Logger => logger;

    /// <summary>The job's name in the registry, the admin health report and the logs.</summary>
    public abstract string Name { get; }

    /// <summary>Time between passes on the injected clock.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>False keeps the job registered but idle on this node (a setting switched it off).</summary>
    protected virtual bool Enabled => true;

    /// <summary>One pass: whether it did all it should, and how much work is left queued (for the health report).</summary>
    protected abstract Task<JobPass> RunPassAsync(CancellationToken cancellationToken);

    /// <summary>Runs a pass soon instead of at the next tick (work was just queued).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>Runs one pass now, reporting it; a failure is logged and reported, never thrown.</summary>
    public async Task<bool> RunNowAsync(CancellationToken cancellationToken)
    {
        try
        {
            var pass = await RunPassAsync(cancellationToken);
            jobs.ReportRun(Name, pass.Succeeded, clock.GetUtcNow().UtcDateTime, pass.Queued);
            return pass.Succeeded;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            jobs.ReportRun(Name, succeeded: false, clock.GetUtcNow().UtcDateTime);
            logger.LogWarning(ex, "Job {Job} failed; the next pass retries", Name);
            return false;
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        jobs.Register(Name);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await RunNowAsync(stoppingToken);
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var wait = Task.Delay(Interval, clock, tick.Token);
                await Task.WhenAny(wait, _wake.WaitAsync(tick.Token));
                await tick.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

/// <summary>What one pass of a job did: whether all of it succeeded, and how much work is left queued.</summary>
public readonly record struct JobPass(bool Succeeded, long Queued = 0);
