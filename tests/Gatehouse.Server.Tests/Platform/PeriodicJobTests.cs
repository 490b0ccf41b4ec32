using Gatehouse.Server.Platform.Jobs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>The base of the background jobs: it registers, reports every pass, survives a failed one and can be woken.</summary>
public sealed class PeriodicJobTests
{
    [Fact]
    public async Task A_failed_pass_is_reported_and_the_next_pass_runs_when_woken()
    {
        var registry = new JobRegistry();
        var job = new CountingJob(registry, failFirst: true);

        await job.StartAsync(CancellationToken.None);
        try
        {
            // The first pass runs at start and fails; the hour-long interval would keep the job idle, but a wake runs it now.
            await Eventually.TrueAsync(() => job.Passes >= 1, "the first pass");
            job.Wake();
            await Eventually.TrueAsync(() => job.Passes >= 2, "a pass after the wake");
        }
        finally
        {
            await job.StopAsync(CancellationToken.None);
        }

        var state = registry.Snapshot()[CountingJob.JobName];
        state.Failures.ShouldBe(1);
        state.ConsecutiveFailures.ShouldBe(0);
        state.Runs.ShouldBeGreaterThanOrEqualTo(2);
        state.QueueDepth.ShouldBe(7);
    }

    [Fact]
    public async Task A_test_runs_a_pass_on_demand_without_starting_the_loop()
    {
        var registry = new JobRegistry();
        var job = new CountingJob(registry, failFirst: true);

        (await job.RunNowAsync(CancellationToken.None)).ShouldBeFalse();
        (await job.RunNowAsync(CancellationToken.None)).ShouldBeTrue();

        job.Passes.ShouldBe(2);
        registry.Snapshot()[CountingJob.JobName].Failures.ShouldBe(1);
    }

    private sealed class CountingJob(JobRegistry registry, bool failFirst) : PeriodicJob(registry, TimeProvider.System, NullLogger.Instance)
    {
        public const string JobName = "counting";
        private int _passes;

        public int Passes => Volatile.Read(ref _passes);

        public override string Name => JobName;

        protected override TimeSpan Interval => TimeSpan.FromHours(1);

        protected override Task<JobPass> RunPassAsync(CancellationToken cancellationToken)
        {
            var pass = Interlocked.Increment(ref _passes);
            return pass == 1 && failFirst
                ? throw new InvalidOperationException("first pass fails (test)")
                : Task.FromResult(new JobPass(Succeeded: true, Queued: 7));
        }
    }
}
