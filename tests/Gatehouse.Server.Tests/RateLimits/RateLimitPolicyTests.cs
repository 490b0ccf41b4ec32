using System.Globalization;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.RateLimits;

/// <summary>The default policies of docs/rate-limits.md, request by request, on a clock the test moves.</summary>
public sealed class RateLimitPolicyTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["Gatehouse:RateLimits:PerMinute"] = "100",
        ["Gatehouse:RateLimits:PerFiveMinutes"] = "1000",
        ["Gatehouse:RateLimits:PerDay"] = "10000",
        ["Gatehouse:RateLimits:AdminPerMinute"] = "500",
        ["Gatehouse:RateLimits:UnauthenticatedPerMinute"] = "50",
        ["Gatehouse:RateLimits:VerifyPerMinute"] = "100000",
    };

    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
    private GatehouseServer? _server;

    private GatehouseServer Server => _server!;

    public async ValueTask InitializeAsync() => _server = await GatehouseServer.StartAsync(new ServerOptions { Clock = _clock, Settings = Defaults });

    public async ValueTask DisposeAsync() => await _server!.DisposeAsync();

    [Fact]
    public async Task A_standard_key_gets_100_a_minute_then_429_with_headers_and_the_reset()
    {
        var orgId = await Server.CreateOrgAsync();
        var client = await Server.OrgClientAsync(orgId, "orgs:read");
        for (var i = 1; i <= 100; i++)
        {
            var ok = await client.GetAsync($"/api/v1/orgs/{orgId}");
            ok.StatusCode.ShouldBe(200, $"request {i}");
            ok.Header("X-RateLimit-Limit").ShouldBe("100");
            ok.Header("X-RateLimit-Remaining").ShouldBe((100 - i).ToString(CultureInfo.InvariantCulture));
        }

        var limited = await client.GetAsync($"/api/v1/orgs/{orgId}");

        limited.StatusCode.ShouldBe(429);
        limited.ErrorCode.ShouldBe("RATE_LIMIT_EXCEEDED");
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe("per_minute");
        limited.Header("X-RateLimit-Remaining").ShouldBe("0");
        var retryAfter = int.Parse(limited.Header("Retry-After")!, CultureInfo.InvariantCulture);
        retryAfter.ShouldBeInRange(1, 120);
        var reset = long.Parse(limited.Header("X-RateLimit-Reset")!, CultureInfo.InvariantCulture);
        reset.ShouldBeGreaterThan(_clock.GetUtcNow().ToUnixTimeSeconds());

        // A full window later the sliding count has drained.
        _clock.Advance(TimeSpan.FromMinutes(2));
        var after = await client.GetAsync($"/api/v1/orgs/{orgId}");
        after.StatusCode.ShouldBe(200);
        after.Header("X-RateLimit-Remaining").ShouldBe("99");
    }

    [Fact]
    public async Task The_window_slides_so_a_burst_at_the_edge_does_not_double()
    {
        var orgId = await Server.CreateOrgAsync();
        var client = await Server.OrgClientAsync(orgId, "orgs:read");
        _clock.Set(new DateTimeOffset(2026, 11, 22, 11, 0, 50, TimeSpan.Zero));
        for (var i = 0; i < 100; i++)
        {
            (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        }

        // 15 s later the fixed minute has turned, but 5/6 of the last minute's requests still count.
        _clock.Advance(TimeSpan.FromSeconds(15));
        var admitted = 0;
        for (var i = 0; i < 100; i++)
        {
            if ((await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode == 200)
            {
                admitted++;
            }
        }

        admitted.ShouldBeLessThanOrEqualTo(25);
        admitted.ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task The_burst_window_of_1000_per_5_minutes_decides_when_it_is_tighter()
    {
        // With 100/min the burst window can never bind; an org that raises its per-minute limit meets it.
        var orgId = await Server.CreateOrgAsync();
        await Server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { rateLimits = new { perMinute = 600 } } });
        var client = await Server.OrgClientAsync(orgId, "orgs:read");
        var start = new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
        _clock.Set(start);
        for (var i = 0; i < 600; i++)
        {
            (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200, $"request {i + 1}");
        }

        // Two minutes on, the minute window is empty again but the 5-minute window still holds 600.
        _clock.Set(start.AddMinutes(2));
        for (var i = 600; i < 1000; i++)
        {
            (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200, $"request {i + 1}");
        }

        var limited = await client.GetAsync($"/api/v1/orgs/{orgId}");

        limited.StatusCode.ShouldBe(429, "request 1001");
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe("per_five_minutes");
        limited.Header("X-RateLimit-Limit").ShouldBe("1000");
        _clock.Set(start.AddMinutes(10));
        (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task The_root_key_gets_the_admin_policy_of_500_a_minute()
    {
        for (var i = 1; i <= 500; i++)
        {
            var ok = await Server.Root.GetAsync("/api/v1/permissions");
            ok.StatusCode.ShouldBe(200, $"request {i}");
        }

        var limited = await Server.Root.GetAsync("/api/v1/permissions");

        limited.StatusCode.ShouldBe(429);
        limited.Header("X-RateLimit-Limit").ShouldBe("500");
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe("admin_per_minute");
        _clock.Advance(TimeSpan.FromMinutes(2));
        (await Server.Root.GetAsync("/api/v1/permissions")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Requests_without_a_valid_credential_get_50_a_minute_per_IP_then_429()
    {
        _clock.Set(new DateTimeOffset(2026, 11, 22, 13, 0, 0, TimeSpan.Zero));
        for (var i = 1; i <= 50; i++)
        {
            (await Server.Anonymous.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401, $"request {i}");
        }

        var limited = await Server.CreateClient("gk_guess").GetAsync("/api/v1/orgs");

        limited.StatusCode.ShouldBe(429);
        limited.Header("Retry-After").ShouldNotBeNull();
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe("unauthenticated_per_minute");
        var audit = await Server.Root.GetAsync("/api/v1/admin/audit-logs?action=auth.rate_limited");
        audit.StatusCode.ShouldBe(200, audit.Text);
        audit.Data.GetArrayLength().ShouldBeGreaterThanOrEqualTo(1);
        audit.Text.ShouldNotContain("gk_guess");
    }

    [Fact]
    public async Task Verify_counts_only_its_own_per_org_policy_not_the_keys_100_a_minute()
    {
        var orgId = await Server.CreateOrgAsync();
        await Server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { rateLimits = new { verifyPerMinute = 150 } } });
        var verifier = await Server.OrgClientAsync(orgId, "api_keys:verify");
        var (_, key) = await Server.CreateKeyAsync(orgId);
        for (var i = 1; i <= 150; i++)
        {
            var ok = await verifier.VerifyAsync(new { key });
            ok.StatusCode.ShouldBe(200, $"verify {i}");
            ok.Header("X-RateLimit-Limit").ShouldBe("150");
        }

        var limited = await verifier.VerifyAsync(new { key });

        limited.StatusCode.ShouldBe(429);
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe("verify_per_minute");
    }

    [Fact]
    public async Task An_org_setting_overrides_the_standard_per_minute_limit()
    {
        var orgId = await Server.CreateOrgAsync();
        await Server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { rateLimits = new { perMinute = 3 } } });
        var client = await Server.OrgClientAsync(orgId, "orgs:read");

        for (var i = 0; i < 3; i++)
        {
            (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        }

        (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(429);
    }

    [Fact]
    public async Task A_rejected_request_does_no_work()
    {
        var orgId = await Server.CreateOrgAsync();
        await Server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { rateLimits = new { perMinute = 1 } } });
        var client = await Server.OrgClientAsync(orgId, "roles:write", "roles:read");
        (await client.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "first", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);

        var limited = await client.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "second", permissions = new[] { "a:b" } });

        limited.StatusCode.ShouldBe(429);
        var roles = await Server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles");
        roles.Data.EnumerateArray().Select(r => r.GetProperty("name").GetString()).ShouldBe(["first"]);
    }
}
