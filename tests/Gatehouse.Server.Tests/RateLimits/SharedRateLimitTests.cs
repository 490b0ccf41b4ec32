using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Tests.ApiKeys;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Server.Tests.RateLimits;

/// <summary>
/// Several nodes on one PostgreSQL database share their rate-limit windows (API.md §13: at most
/// 1.2 × the limit across nodes; docs/rate-limits.md, "Several nodes"). First three counter stores
/// in this process on one database, then three server processes. PostgreSQL only; skipped unless
/// <c>GATEHOUSE_TEST_PROVIDER=postgres</c>.
/// </summary>
public sealed class SharedRateLimitTests
{
    private const string SkipReason = "PostgreSQL only: several nodes share a PostgreSQL database";
    private static readonly SharedCounterSettings Settings = new(TimeSpan.FromMilliseconds(200), ExactThresholdPercent: 80, LocalBudgetPercent: 5);

    private static async Task<TestDatabase> MigratedDatabaseAsync()
    {
        var database = await TestDatabase.CreateAsync();
        new SchemaMigrator(DatabaseTarget.Postgres(database.Url!), NullLogger<SchemaMigrator>.Instance).Migrate();
        return database;
    }

    private static PostgresCounterStore[] Nodes(TestDatabase database, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => new PostgresCounterStore(database.Url!, Settings, NullLogger<PostgresCounterStore>.Instance))];

    /// <summary>Each node runs <paramref name="workersPerNode"/> concurrent loops of <paramref name="attemptsPerWorker"/> decisions; returns how many were admitted.</summary>
    private static async Task<int> HammerAsync(PostgresCounterStore[] nodes, int workersPerNode, int attemptsPerWorker, Func<PostgresCounterStore, ValueTask<RateLimitDecision>> decide)
    {
        var admitted = 0;
        var workers = nodes.SelectMany(node => Enumerable.Range(0, workersPerNode).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < attemptsPerWorker; i++)
            {
                if ((await decide(node)).Allowed)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        })));
        await Task.WhenAll(workers);
        return admitted;
    }

    [Fact]
    public async Task Three_stores_deciding_exactly_admit_exactly_the_limit()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, SkipReason);
        await using var database = await MigratedDatabaseAsync();
        var nodes = Nodes(database, 3);
        RateLimitRule[] rules = [new("per_hour", 100, TimeSpan.FromHours(1))];

        var admitted = await HammerAsync(nodes, workersPerNode: 4, attemptsPerWorker: 50,
            node => node.TryConsumeAsync("exact", rules, 1, DateTimeOffset.UtcNow, consume: true, CancellationToken.None));

        admitted.ShouldBe(100);
        var after = await nodes[1].TryConsumeAsync("exact", rules, 1, DateTimeOffset.UtcNow, consume: false, CancellationToken.None);
        after.Allowed.ShouldBeFalse();
        after.Windows[0].Remaining.ShouldBe(0);
        after.Windows[0].Exceeded.ShouldBeTrue();
        foreach (var node in nodes)
        {
            node.Dispose();
        }
    }

    [Fact]
    public async Task Three_stores_counting_locally_admit_between_the_limit_and_a_fifth_more()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, SkipReason);
        await using var database = await MigratedDatabaseAsync();
        var nodes = Nodes(database, 3);
        foreach (var node in nodes)
        {
            await node.StartAsync(CancellationToken.None);
        }

        RateLimitRule[] rules = [new("per_hour", 200, TimeSpan.FromHours(1))];
        var admitted = await HammerAsync(nodes, workersPerNode: 4, attemptsPerWorker: 60,
            node => node.TryConsumeFastAsync("fast", rules, 1, DateTimeOffset.UtcNow, CancellationToken.None));

        admitted.ShouldBeInRange(200, 240);
        // Every admitted unit reaches the shared row once the nodes have flushed.
        foreach (var node in nodes)
        {
            await node.StopAsync(CancellationToken.None);
        }

        await using (var connection = new Npgsql.NpgsqlConnection(database.Url))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT COALESCE(SUM(count), 0) FROM rate_limit_counters WHERE subject = 'fast'", connection);
            Convert.ToInt64(await command.ExecuteScalarAsync()).ShouldBe(admitted);
        }

        foreach (var node in nodes)
        {
            node.Dispose();
        }
    }

    [Fact]
    public async Task A_request_one_window_rejects_adds_nothing_to_the_others_and_a_peek_adds_nothing()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, SkipReason);
        await using var database = await MigratedDatabaseAsync();
        using var store = Nodes(database, 1)[0];
        RateLimitRule[] rules = [new("small", 3, TimeSpan.FromHours(1)), new("large", 100, TimeSpan.FromHours(1))];
        var now = DateTimeOffset.UtcNow;

        for (var i = 0; i < 3; i++)
        {
            (await store.TryConsumeAsync("s", rules, 1, now, consume: true, CancellationToken.None)).Allowed.ShouldBeTrue();
        }

        var peek = await store.TryConsumeAsync("s", rules, 1, now, consume: false, CancellationToken.None);
        var rejected = await store.TryConsumeAsync("s", rules, 1, now, consume: true, CancellationToken.None);
        var largeAlone = await store.TryConsumeAsync("s", [rules[1]], 0, now, consume: false, CancellationToken.None);

        peek.Allowed.ShouldBeFalse();
        rejected.Allowed.ShouldBeFalse();
        rejected.Windows.Select(w => (w.Rule.Name, w.Remaining, w.Exceeded)).ShouldBe([("small", 0L, true), ("large", 97L, false)]);
        rejected.RetryAfter(now).ShouldBeGreaterThan(TimeSpan.Zero);
        largeAlone.Windows[0].Remaining.ShouldBe(97);
    }

    private static Task<ServerProcess> StartNodeAsync(TestDatabase database, string masterKey) =>
        ServerProcess.StartNodeAsync(database, masterKey, new Dictionary<string, string?>
        {
            // The test's own calls must not meet the root key's platform policy, now shared by the nodes.
            ["Gatehouse__RateLimits__AdminPerMinute"] = "100000",
        });

    private static async Task<int> HammerAsync(ApiClient[] nodes, int workersPerNode, int attemptsPerWorker, Func<ApiClient, Task<bool>> attempt)
    {
        var admitted = 0;
        await Task.WhenAll(nodes.SelectMany(node => Enumerable.Range(0, workersPerNode).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < attemptsPerWorker; i++)
            {
                if (await attempt(node))
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        }))));
        return admitted;
    }

    [Fact]
    public async Task Three_server_nodes_admit_at_most_a_fifth_over_a_keys_limit_and_exactly_a_standalone_limit()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, SkipReason);
        await using var database = await TestDatabase.CreateAsync();
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var a = await StartNodeAsync(database, masterKey);
        await using var b = await StartNodeAsync(database, masterKey);
        await using var c = await StartNodeAsync(database, masterKey);
        ApiClient[] roots = [a.Root(), b.Root(), c.Root()];
        var orgId = (await roots[0].PostAsync("/api/v1/orgs", new { name = "Cluster" })).Str("id");
        var created = await roots[0].PostAsync($"/api/v1/orgs/{orgId}/api-keys", new
        {
            name = "limited",
            permissions = Array.Empty<string>(),
            // An hour, so the window cannot slide while the nodes hammer it.
            ratelimits = new[] { new { name = "requests", limit = 50, durationMs = 3_600_000 } },
        });
        created.StatusCode.ShouldBe(201, created.Text);
        var key = created.Str("key");

        // The verify path counts on each node and reconciles (fast mode).
        var verified = await HammerAsync(roots, workersPerNode: 4, attemptsPerWorker: 25, async root =>
        {
            var response = await root.VerifyAsync(new { key });
            response.StatusCode.ShouldBe(200, response.Text);
            response.Code().ShouldBeOneOf(["VALID", "RATE_LIMITED"], response.Text);
            return response.Code() == "VALID";
        });

        // The standalone limiter decides exactly on the shared rows.
        var body = new { @namespace = "cluster", identifier = "one", limit = 50, durationMs = 3_600_000, orgId };
        var standalone = await HammerAsync(roots, workersPerNode: 4, attemptsPerWorker: 10, async root =>
        {
            var response = await root.PostAsync("/api/v1/ratelimit", body);
            response.StatusCode.ShouldBe(200, response.Text);
            return response.Data.GetProperty("success").GetBoolean();
        });

        verified.ShouldBeInRange(50, 60);
        standalone.ShouldBe(50);
    }
}
