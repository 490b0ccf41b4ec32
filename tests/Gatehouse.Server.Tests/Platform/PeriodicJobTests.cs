using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// The base of the background jobs, inside a real server: it registers, reports every pass,
/// survives a failed one, can be woken, and records failed passes and passes that did work.
/// </summary>
public sealed class PeriodicJobTests
{
    private static Task<GatehouseServer> StartWithCountingJobAsync(bool failFirst, bool didWork = true) =>
        GatehouseServer.StartAsync(new ServerOptions
        {
            Services = services =>
            {
                services.AddSingleton(sp => new CountingJob(sp.GetRequiredService<JobRunner>(), sp.GetRequiredService<JobRegistry>(), sp.GetRequiredService<ILogger<CountingJob>>(), failFirst, didWork));
                services.AddHostedService(sp => sp.GetRequiredService<CountingJob>());
                services.AddSingleton<IBackgroundJob>(sp => sp.GetRequiredService<CountingJob>());
            },
        });

    [Fact]
    public async Task A_failed_pass_is_reported_and_the_next_pass_runs_when_woken()
    {
        await using var server = await StartWithCountingJobAsync(failFirst: true);
        var job = server.Services.GetRequiredService<CountingJob>();
        var registry = server.Services.GetRequiredService<JobRegistry>();

        // The first pass runs at start and fails; the hour-long interval would keep the job idle, but a wake runs it now.
        await Eventually.TrueAsync(() => registry.Find(CountingJob.JobName)?.Runs >= 1, "the first pass");
        job.Wake();
        await Eventually.TrueAsync(() => registry.Find(CountingJob.JobName)?.Runs >= 2, "a pass after the wake");

        var state = registry.Snapshot()[CountingJob.JobName];
        state.Failures.ShouldBe(1);
        state.ConsecutiveFailures.ShouldBe(0);
        state.QueueDepth.ShouldBe(7);

        // Both passes are recorded: the failure with its message (never a stack trace), the success because it did work.
        var stats = await server.Root.GetAsync($"/api/v1/admin/jobs/{CountingJob.JobName}/stats");
        stats.StatusCode.ShouldBe(200, stats.Text);
        stats.Data.GetProperty("runs").GetInt64().ShouldBeGreaterThanOrEqualTo(2);
        stats.Data.GetProperty("failures").GetInt64().ShouldBe(1);
        await using var scope = server.Services.CreateAsyncScope();
        var failed = await scope.ServiceProvider.GetRequiredService<GatehouseDb>().Set<JobRun>()
            .SingleAsync(r => r.Job == CountingJob.JobName && r.Ok == false, TestContext.Current.CancellationToken);
        failed.Error.ShouldBe("first pass fails (test)");
        failed.Trigger.ShouldBe(JobRun.Schedule);
    }

    [Fact]
    public async Task A_test_runs_a_pass_on_demand()
    {
        await using var server = await StartWithCountingJobAsync(failFirst: false);
        var job = server.Services.GetRequiredService<CountingJob>();

        (await job.RunNowAsync(TestContext.Current.CancellationToken)).ShouldBeTrue();

        job.Passes.ShouldBeGreaterThanOrEqualTo(1);
        server.Services.GetRequiredService<JobRegistry>().Snapshot()[CountingJob.JobName].Failures.ShouldBe(0);
    }

    [Fact]
    public async Task Scheduled_passes_that_find_nothing_to_do_leave_no_run_rows()
    {
        await using var server = await StartWithCountingJobAsync(failFirst: false, didWork: false);
        var job = server.Services.GetRequiredService<CountingJob>();
        for (var i = 0; i < 3; i++)
        {
            (await job.RunNowAsync(TestContext.Current.CancellationToken)).ShouldBeTrue();
        }

        var stats = await server.Root.GetAsync($"/api/v1/admin/jobs/{CountingJob.JobName}/stats");
        stats.Data.GetProperty("runs").GetInt64().ShouldBe(0);
        stats.Data.GetProperty("queueDepth").GetInt64().ShouldBe(7);
    }

    internal sealed class CountingJob(JobRunner runner, JobRegistry registry, ILogger logger, bool failFirst, bool didWork)
        : PeriodicJob(runner, registry, TimeProvider.System, logger)
    {
        public const string JobName = "counting";
        private int _passes;

        public int Passes => Volatile.Read(ref _passes);

        public override string Name => JobName;

        public override string Description => "Counts its passes (test).";

        public override TimeSpan Interval => TimeSpan.FromHours(1);

        public override Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
        {
            var count = Interlocked.Increment(ref _passes);
            return count == 1 && failFirst
                ? throw new InvalidOperationException("first pass fails (test)")
                : Task.FromResult(new JobPass(Succeeded: true, Queued: 7, DidWork: didWork));
        }
    }
}
