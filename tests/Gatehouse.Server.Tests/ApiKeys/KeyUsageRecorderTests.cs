using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Features.ApiKeys;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>The usage buffer under concurrency: counts are summed per key in cells that flushes empty and retire.</summary>
public sealed class KeyUsageRecorderTests
{
    [Fact]
    public async Task Every_count_recorded_while_flushes_run_is_written_exactly_once()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 28, 10, 15, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, _) = await server.CreateKeyAsync(orgId, new { name = "busy", permissions = Array.Empty<string>() });
        var recorder = server.Services.GetRequiredService<KeyUsageRecorder>();
        var at = clock.GetUtcNow().UtcDateTime;
        const int Writers = 4;
        const int PerWriter = 5_000;

        using var stop = new CancellationTokenSource();
        // Readers' flushes and the background job's paced flush, both racing the writers (and each other).
        var readerFlushes = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await recorder.FlushAsync(CancellationToken.None);
            }
        });
        var pacedFlushes = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                recorder.FlushOnCurrentThread(TimeSpan.Zero, CancellationToken.None);
            }
        });
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                recorder.Record(orgId, id, i % 2 == 0 ? VerifyCodes.Valid : VerifyCodes.RateLimited, at, used: i % 2 == 0);
                if (i % 500 == 0)
                {
                    Thread.Yield();
                }
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await Task.WhenAll(readerFlushes, pacedFlushes);
        await recorder.FlushAsync(CancellationToken.None);

        var usage = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage?start=2026-11-28T10:00:00Z&end=2026-11-28T10:59:00Z&granularity=hour");
        usage.StatusCode.ShouldBe(200, usage.Text);
        var totals = usage.Data.GetProperty("totals");
        totals.GetProperty(VerifyCodes.Valid).GetInt64().ShouldBe(Writers * PerWriter / 2);
        totals.GetProperty(VerifyCodes.RateLimited).GetInt64().ShouldBe(Writers * PerWriter / 2);

        var key = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");
        key.Str("lastUsedAt").ShouldBe("2026-11-28T10:15:00Z");
        recorder.PendingKeys.ShouldBeLessThanOrEqualTo(1);
    }

    [Fact]
    public async Task A_failed_flush_keeps_its_counts_for_the_next_one()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 28, 10, 15, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, _) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>() });
        var recorder = server.Services.GetRequiredService<KeyUsageRecorder>();
        recorder.Record(orgId, id, VerifyCodes.Valid, clock.GetUtcNow().UtcDateTime, used: true);

        // A real failure: the table is gone while the flush writes.
        await ExecuteAsync(server, "ALTER TABLE api_key_usage RENAME TO api_key_usage_away");
        await Should.ThrowAsync<Exception>(() => recorder.FlushAsync(CancellationToken.None));
        await ExecuteAsync(server, "ALTER TABLE api_key_usage_away RENAME TO api_key_usage");

        recorder.Record(orgId, id, VerifyCodes.Valid, clock.GetUtcNow().UtcDateTime, used: true);
        var usage = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage?start=2026-11-28T10:00:00Z&end=2026-11-28T10:59:00Z&granularity=hour");
        usage.StatusCode.ShouldBe(200, usage.Text);
        usage.Data.GetProperty("totals").GetProperty(VerifyCodes.Valid).GetInt64().ShouldBe(2);
    }

    private static async Task ExecuteAsync(GatehouseServer server, string sql)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Gatehouse.Server.Platform.Storage.GatehouseDb>();
        await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.ExecuteSqlRawAsync(db.Database, sql);
    }
}

/// <summary>The background flush never competes with requests for the CPU.</summary>
public sealed class UsageFlushPriorityTests(SharedServer shared)
{
    private const int SchedIdle = 5;

    [Fact]
    public void The_flush_thread_runs_in_the_idle_scheduling_class_on_Linux()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Scheduling classes are Linux's");
        _ = shared.Server; // a started server has its flush thread

        var flushThreads = Directory.GetDirectories("/proc/self/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == "usage-flush")
            .ToList();

        flushThreads.ShouldNotBeEmpty();
        foreach (var task in flushThreads)
        {
            // /proc/<pid>/task/<tid>/stat: field 41 is the policy; fields after the ")" closing the name start at 3.
            var stat = File.ReadAllText(Path.Combine(task, "stat"));
            var policy = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[41 - 3], System.Globalization.CultureInfo.InvariantCulture);
            policy.ShouldBe(SchedIdle, task);
        }
    }
}

public sealed class NotFoundUsageIsolationTests
{
    [Fact]
    public async Task Each_organization_counts_only_its_own_not_found_verifications()
    {
        await using var server = await GatehouseServer.StartAsync();
        var first = await server.CreateOrgAsync();
        var second = await server.CreateOrgAsync();
        var firstCaller = await server.OrgClientAsync(first, "api_keys:verify", "orgs:read");
        var secondCaller = await server.OrgClientAsync(second, "api_keys:verify", "orgs:read");

        for (var i = 0; i < 3; i++)
        {
            (await firstCaller.VerifyAsync(new { key = Gatehouse.Crypto.ApiKeyFormat.Generate("gk") })).Code().ShouldBe(VerifyCodes.NotFound);
        }

        (await secondCaller.VerifyAsync(new { key = Gatehouse.Crypto.ApiKeyFormat.Generate("gk") })).Code().ShouldBe(VerifyCodes.NotFound);

        // Both organizations' outcomes go out in the same flush, in the same statement.
        var firstStats = await server.Root.GetAsync($"/api/v1/orgs/{first}/stats");
        firstStats.StatusCode.ShouldBe(200, firstStats.Text);
        firstStats.Data.GetProperty("verifications").GetProperty(VerifyCodes.NotFound).GetInt64().ShouldBe(3);
        var secondStats = await server.Root.GetAsync($"/api/v1/orgs/{second}/stats");
        secondStats.StatusCode.ShouldBe(200, secondStats.Text);
        secondStats.Data.GetProperty("verifications").GetProperty(VerifyCodes.NotFound).GetInt64().ShouldBe(1);
    }
}
