namespace Gatehouse.Server.Tests.Audit;

public sealed class AuthFailureAuditTests
{
    private static async Task<List<System.Text.Json.JsonElement>> FailuresAsync(GatehouseServer server)
    {
        var response = await server.Root.GetAsync("/api/v1/admin/audit-logs?orgId=platform&action=auth.failure&sort=createdAt&limit=200");
        response.StatusCode.ShouldBe(200, response.Text);
        return [.. response.Data.EnumerateArray().Select(e => e.Clone())];
    }

    [Fact]
    public async Task A_rejected_credential_is_recorded_on_the_platform_chain_without_the_credential()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = new FakeClock() });
        const string presented = "gk_ThisIsTheSecretThatMustNeverBeStored123";

        var response = await server.CreateClient(presented).GetAsync("/api/v1/orgs", new Dictionary<string, string> { ["X-Request-Id"] = "req-bad-key" });

        response.StatusCode.ShouldBe(401);
        var failures = await FailuresAsync(server);
        failures.Count.ShouldBe(1);
        var e = failures[0];
        e.GetProperty("orgId").GetString().ShouldBe("platform");
        e.GetProperty("requestId").GetString().ShouldBe("req-bad-key");
        e.GetProperty("actor").GetProperty("type").GetString().ShouldBe("anonymous");
        e.GetProperty("changes").GetProperty("code").GetString().ShouldBe("INVALID_API_KEY");
        e.GetProperty("changes").GetProperty("path").GetString().ShouldBe("/api/v1/orgs");
        e.GetProperty("changes").GetProperty("credentialPresented").GetBoolean().ShouldBeTrue();
        e.ToString().ShouldNotContain("ThisIsTheSecret");
        e.ToString().ShouldNotContain("gk_This");
        var all = await server.Root.GetAsync("/api/v1/admin/audit-logs?limit=200");
        all.Text.ShouldNotContain("ThisIsTheSecret");
    }

    [Fact]
    public async Task A_flood_from_one_address_is_folded_into_one_event_per_minute()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var bad = server.CreateClient("gk_wrong");

        for (var i = 0; i < 25; i++)
        {
            (await bad.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);
        }

        (await FailuresAsync(server)).Count.ShouldBe(1);
        clock.Advance(TimeSpan.FromMinutes(1));
        (await server.Anonymous.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);

        var failures = await FailuresAsync(server);
        failures.Count.ShouldBe(2);
        failures[1].GetProperty("changes").GetProperty("suppressedSinceLast").GetInt64().ShouldBe(24);
        failures[1].GetProperty("changes").GetProperty("credentialPresented").GetBoolean().ShouldBeFalse();
        failures[1].GetProperty("changes").GetProperty("code").GetString().ShouldBe("AUTHENTICATION_FAILED");
    }
}
