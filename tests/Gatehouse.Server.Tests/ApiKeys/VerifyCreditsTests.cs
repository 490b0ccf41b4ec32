namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class VerifyCreditsTests
{
    [Fact]
    public async Task Fifty_concurrent_verifies_of_a_key_with_ten_credits_give_exactly_ten_VALID()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "metered", permissions = Array.Empty<string>(), remaining = 10 });
        var verifier = await server.OrgClientAsync(orgId, "api_keys:verify");

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => verifier.VerifyAsync(new { key, cost = 1 }))));

        responses.ShouldAllBe(r => r.StatusCode == 200);
        responses.Count(r => r.Code() == "VALID").ShouldBe(10);
        responses.Count(r => r.Code() == "USAGE_EXCEEDED").ShouldBe(40);
        responses.Where(r => r.Code() == "VALID").Select(r => r.Data.GetProperty("remaining").GetInt64()).OrderBy(v => v).ShouldBe([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task Concurrent_verifies_of_several_metered_keys_each_spend_only_their_own_credits()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var keys = new[] { 5L, 0L, 40L };
        var created = new List<(string Id, string Key)>();
        foreach (var remaining in keys)
        {
            created.Add(await server.CreateKeyAsync(orgId, new { name = "metered", permissions = Array.Empty<string>(), remaining }));
        }

        var verifier = await server.OrgClientAsync(orgId, "api_keys:verify");
        var before = await CreditFiguresAsync(server);

        // Interleaved, so that the spends of all three keys wait and commit together.
        var responses = await Task.WhenAll(Enumerable.Range(0, 90).Select(i => Task.Run(async () => (Index: i % 3, Response: await verifier.VerifyAsync(new { key = created[i % 3].Key })))));

        responses.ShouldAllBe(r => r.Response.StatusCode == 200);
        for (var k = 0; k < keys.Length; k++)
        {
            var valid = responses.Count(r => r.Index == k && r.Response.Code() == "VALID");
            valid.ShouldBe((int)Math.Min(keys[k], 30), $"key {k}");
            (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{created[k].Id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(keys[k] - valid, $"key {k}");
        }

        // Every verify reached a spend (refused ones too); SQLite may have shared commits among them, PostgreSQL commits each.
        var after = await CreditFiguresAsync(server);
        (after.Spends - before.Spends).ShouldBe(90);
        var commits = after.Commits - before.Commits;
        if (server.Database.IsPostgres)
        {
            commits.ShouldBe(90);
        }
        else
        {
            commits.ShouldBeInRange(1, 90);
        }
    }

    private static async Task<(long Spends, long Commits)> CreditFiguresAsync(GatehouseServer server)
    {
        var values = await MetricsScrape.ReadAsync(server, "gatehouse_credit_spends_total", "gatehouse_credit_commits_total");
        return (values[0], values[1]);
    }

    [Fact]
    public async Task A_spend_that_fails_fails_alone_and_the_spends_batched_with_it_still_count_once()
    {
        await using var server = await GatehouseServer.StartAsync();
        if (server.Database.IsPostgres)
        {
            Assert.Skip("SQLite only: on PostgreSQL each spend commits on its own, and the trigger below is SQLite's");
        }

        var orgId = await server.CreateOrgAsync();
        var (healthyId, healthy) = await server.CreateKeyAsync(orgId, new { name = "healthy", permissions = Array.Empty<string>(), remaining = 1000 });
        var (brokenId, broken) = await server.CreateKeyAsync(orgId, new { name = "broken", permissions = Array.Empty<string>(), remaining = 1000 });
        await ExecuteAsync(server, $"CREATE TRIGGER fail_spend BEFORE UPDATE OF remaining ON api_keys WHEN OLD.id = '{brokenId}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
        var verifier = await server.OrgClientAsync(orgId, "api_keys:verify");

        var responses = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => Task.Run(async () => (Healthy: i % 2 == 0, Response: await verifier.VerifyAsync(new { key = i % 2 == 0 ? healthy : broken })))));

        // Only the failing spends fail: the healthy key's spends, batched with them, were taken back
        // with the batch and then committed on their own. Nothing is lost and nothing is spent twice.
        responses.Where(r => !r.Healthy).ShouldAllBe(r => r.Response.StatusCode == 500);
        responses.Where(r => r.Healthy).ShouldAllBe(r => r.Response.StatusCode == 200 && r.Response.Code() == "VALID");
        responses.Where(r => r.Healthy).Select(r => r.Response.Data.GetProperty("remaining").GetInt64()).OrderBy(v => v).ShouldBe(Enumerable.Range(960, 40).Select(v => (long)v));
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{healthyId}")).Data.GetProperty("remaining").GetInt64().ShouldBe(960);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{brokenId}")).Data.GetProperty("remaining").GetInt64().ShouldBe(1000);

        // And the spender keeps working once the cause is gone.
        await ExecuteAsync(server, "DROP TRIGGER fail_spend;");
        (await verifier.VerifyAsync(new { key = broken })).Code().ShouldBe("VALID");
    }

    private static async Task ExecuteAsync(GatehouseServer server, string sql)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Gatehouse.Server.Platform.Storage.GatehouseDb>();
        await Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.ExecuteSqlRawAsync(db.Database, sql);
    }

    [Fact]
    public async Task A_daily_refill_sets_the_balance_at_midnight_UTC()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 22, 22, 0, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 2, refill = new { interval = "daily", amount = 5 } });

        (await server.Root.VerifyAsync(new { key, cost = 2 })).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");
        clock.Advance(TimeSpan.FromHours(2.5));
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(5);

        var refilled = await server.Root.VerifyAsync(new { key });
        refilled.Code().ShouldBe("VALID");
        refilled.Data.GetProperty("remaining").GetInt64().ShouldBe(4);
        // Sets, never adds: a second verify the same day does not refill again.
        (await server.Root.VerifyAsync(new { key })).Data.GetProperty("remaining").GetInt64().ShouldBe(3);
    }

    [Fact]
    public async Task A_monthly_refill_happens_on_its_day_and_not_before()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 1, refill = new { interval = "monthly", amount = 100, day = 5 } });
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        clock.Set(new DateTimeOffset(2026, 12, 4, 23, 59, 0, TimeSpan.Zero));
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");
        clock.Set(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));
        var refilled = await server.Root.VerifyAsync(new { key, cost = 10 });

        refilled.Code().ShouldBe("VALID");
        refilled.Data.GetProperty("remaining").GetInt64().ShouldBe(90);
    }

    [Fact]
    public async Task Day_31_refills_on_the_last_day_of_a_short_month()
    {
        var clock = new FakeClock(new DateTimeOffset(2027, 1, 31, 12, 0, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 0, refill = new { interval = "monthly", amount = 3, day = 31 } });
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");

        clock.Set(new DateTimeOffset(2027, 2, 28, 0, 0, 1, TimeSpan.Zero));

        (await server.Root.VerifyAsync(new { key })).Data.GetProperty("remaining").GetInt64().ShouldBe(2);
    }

    [Fact]
    public async Task Racing_verifies_after_a_refill_time_refill_once_and_spend_exactly_the_amount()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 22, 23, 0, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 0, refill = new { interval = "daily", amount = 10 } });
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");
        clock.Advance(TimeSpan.FromHours(2));

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => server.Root.VerifyAsync(new { key }))));

        responses.Count(r => r.Code() == "VALID").ShouldBe(10);
        responses.Count(r => r.Code() == "USAGE_EXCEEDED").ShouldBe(20);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
    }
}
