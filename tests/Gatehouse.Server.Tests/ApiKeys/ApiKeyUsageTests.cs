namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class ApiKeyUsageTests
{
    [Fact]
    public async Task Usage_counts_verifications_by_code_per_hour_and_day()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 11, 22, 10, 15, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "p" } });
        var path = $"/api/v1/orgs/{orgId}/api-keys/{id}/usage";

        await server.Root.VerifyAsync(new { key });
        await server.Root.VerifyAsync(new { key });
        await server.Root.VerifyAsync(new { key, permissions = "q" });
        clock.Advance(TimeSpan.FromHours(1));
        await server.Root.VerifyAsync(new { key });

        var hourly = await server.Root.GetAsync(path + "?start=2026-11-22T09:00:00Z&end=2026-11-22T11:30:00Z&granularity=hour");
        hourly.StatusCode.ShouldBe(200, hourly.Text);
        hourly.Str("granularity").ShouldBe("hour");
        var buckets = hourly.Data.GetProperty("buckets");
        buckets.GetArrayLength().ShouldBe(3);
        buckets[0].GetProperty("total").GetInt64().ShouldBe(0);
        buckets[1].GetProperty("start").GetString().ShouldBe("2026-11-22T10:00:00Z");
        buckets[1].GetProperty("codes").GetProperty("VALID").GetInt64().ShouldBe(2);
        buckets[1].GetProperty("codes").GetProperty("INSUFFICIENT_PERMISSIONS").GetInt64().ShouldBe(1);
        buckets[2].GetProperty("codes").GetProperty("VALID").GetInt64().ShouldBe(1);
        hourly.Data.GetProperty("totals").GetProperty("VALID").GetInt64().ShouldBe(3);

        var daily = await server.Root.GetAsync(path + "?granularity=day&start=2026-11-21T00:00:00Z&end=2026-11-22T23:00:00Z");
        daily.Data.GetProperty("buckets").GetArrayLength().ShouldBe(2);
        daily.Data.GetProperty("buckets")[1].GetProperty("total").GetInt64().ShouldBe(4);

        var read = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");
        read.Str("lastUsedAt").ShouldBe("2026-11-22T11:15:00Z");
    }

    [Fact]
    public async Task Org_stats_count_live_keys_and_verifications_by_outcome_of_the_last_24_hours()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>() });
        var (revokedId, revoked) = await server.CreateKeyAsync(orgId);
        await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}");
        var verifier = await server.OrgClientAsync(orgId, "api_keys:verify");
        await verifier.VerifyAsync(new { key });
        clock.Advance(TimeSpan.FromHours(25));
        await verifier.VerifyAsync(new { key });
        await verifier.VerifyAsync(new { key = revoked });
        await verifier.VerifyAsync(new { key = "gk_nope" });

        var stats = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats");

        stats.StatusCode.ShouldBe(200);
        stats.Data.GetProperty("apiKeys").GetInt64().ShouldBe(2);
        var verifications = stats.Data.GetProperty("verifications");
        verifications.GetProperty("VALID").GetInt64().ShouldBe(1);
        verifications.GetProperty("REVOKED").GetInt64().ShouldBe(1);
        verifications.GetProperty("NOT_FOUND").GetInt64().ShouldBe(1);
    }

    [Theory]
    [InlineData("?granularity=minute")]
    [InlineData("?start=yesterday")]
    [InlineData("?start=2026-11-22T10:00:00Z&end=2026-11-21T10:00:00Z")]
    [InlineData("?granularity=hour&start=2020-01-01T00:00:00Z&end=2026-01-01T00:00:00Z")]
    public async Task Bad_parameters_are_400(string query)
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (id, _) = await server.CreateKeyAsync(orgId);

        var response = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage{query}");

        response.StatusCode.ShouldBe(400);
    }

    [Fact]
    public async Task Unknown_key_is_404_and_missing_permission_403()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (id, _) = await server.CreateKeyAsync(orgId);
        var verifier = await server.OrgClientAsync(orgId, "api_keys:verify");

        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/key_01JD0000000000000000000000/usage")).StatusCode.ShouldBe(404);
        (await verifier.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage")).StatusCode.ShouldBe(403);
    }

    [Fact]
    public async Task The_flush_job_is_registered_and_usage_survives_a_restart()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        string orgId, id;
        await using (var first = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database))
        {
            orgId = await first.CreateOrgAsync();
            string key;
            (id, key) = await first.CreateKeyAsync(orgId);
            await first.Root.VerifyAsync(new { key });
            first.Services.GetRequiredService<Gatehouse.Server.Platform.Jobs.JobRegistry>().Snapshot().Keys.ShouldContain("key-usage-flush");
        }

        // Shutdown flushed the buffer.
        await using var second = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir }, database);
        var usage = await second.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/usage");
        usage.Data.GetProperty("totals").GetProperty("VALID").GetInt64().ShouldBe(1);
    }
}
