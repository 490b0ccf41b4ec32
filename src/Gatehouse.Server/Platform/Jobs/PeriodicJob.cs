namespace Gatehouse.Server.Platform.Jobs;

/// <summary>
/// The base of a background job with a schedule of its own: it ticks on the injected clock (a test
/// advances a fake clock instead of sleeping), can be woken early, and runs each pass through the
/// <see cref="JobRunner"/> (one pass at a time, under the job's lease where it runs on one node at
/// a time, reported and recorded); a failed pass never stops the loop — the next tick retries.
/// Tests call <see cref="RunNowAsync"/> to run a pass on demand.
/// </summary>
public abstract class PeriodicJob(JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger logger) : BackgroundService, IBackgroundJob
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>The injected clock, for the pass itself.</summary>
    protected TimeProvider Clock => clock;

    /// <summary>The job's logger, for what a pass reports beyond success or failure.</summary>
    protected ILogger Logger => logger;

    public abstract string Name { get; }

    public abstract string Description { get; }

    public abstract TimeSpan Interval { get; }

    public virtual JobPlacement Placement => JobPlacement.OneNodeAtATime;

    public virtual bool AcceptsOrg => false;

    /// <summary>False keeps the job registered but idle on this node (a setting switched it off); manual runs still work.</summary>
    public virtual bool Scheduled => true;

    public abstract Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken);

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

    /// <summary>Runs one pass now (after a pass in progress), reporting it; a failure is logged and reported, never thrown.</summary>
    public async Task<bool> RunNowAsync(CancellationToken cancellationToken) =>
        await runner.RunAsync(this, JobTrigger.Now, cancellationToken) == true;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        jobs.Register(Name);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Scheduled)
        {
            return;
        }

        try
        {
            var woken = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                // A wake-up means work was queued on this node: it runs even if another node ran the job a moment ago.
                await runner.RunAsync(this, woken ? JobTrigger.Now : JobTrigger.Schedule, stoppingToken);
                jobs.ScheduleNext(Name, clock.GetUtcNow().UtcDateTime + Interval);
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var wait = Task.Delay(Interval, clock, tick.Token);
                var wake = _wake.WaitAsync(tick.Token);
                woken = await Task.WhenAny(wait, wake) == wake;
                await tick.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            jobs.ScheduleNext(Name, null);
        }
    }
}
