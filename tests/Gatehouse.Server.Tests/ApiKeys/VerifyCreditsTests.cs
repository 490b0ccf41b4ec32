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
