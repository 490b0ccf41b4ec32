using System.Globalization;

namespace Gatehouse.Server.Tests.Pki;

/// <summary>The public PKI routes take no credential; they are counted per client IP under <c>RateLimits:PublicPerMinute</c>.</summary>
public sealed class PkiRateLimitTests : IAsyncLifetime
{
    private const int Limit = 6;
    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
    private GatehouseServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Clock = _clock,
            Settings = new Dictionary<string, string?>
            {
                ["Gatehouse:RateLimits:PublicPerMinute"] = Limit.ToString(CultureInfo.InvariantCulture),
                ["Gatehouse:RateLimits:UnauthenticatedPerMinute"] = "50",
            },
        });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_public_pki_route_counts_per_IP_and_the_next_request_is_429_with_retry_after()
    {
        var orgId = await _server.CreateOrgAsync();
        string[] routes = [$"/api/v1/pki/ca.pem?org={orgId}", $"/api/v1/pki/crl?org={orgId}", $"/api/v1/pki/crl.pem?org={orgId}", $"/api/v1/pki/check/0ABC?org={orgId}"];
        for (var i = 0; i < Limit; i++)
        {
            using var ok = await _server.Anonymous.Http.GetAsync(routes[i % routes.Length], TestContext.Current.CancellationToken);
            ((int)ok.StatusCode).ShouldBe(200, $"request {i + 1}");
            ok.Headers.GetValues("X-RateLimit-Limit").Single().ShouldBe(Limit.ToString(CultureInfo.InvariantCulture));
            ok.Headers.GetValues("X-RateLimit-Remaining").Single().ShouldBe((Limit - i - 1).ToString(CultureInfo.InvariantCulture));
        }

        // The (N+1)th, on any public route — and an unknown organization is counted too: the limit comes first.
        foreach (var route in routes.Append("/api/v1/pki/crl?org=no-such-org"))
        {
            var limited = await _server.Anonymous.GetAsync(route);
            limited.StatusCode.ShouldBe(429, route);
            limited.ErrorCode.ShouldBe("RATE_LIMIT_EXCEEDED");
            var details = limited.Body.GetProperty("error").GetProperty("details");
            details.GetProperty("window").GetString().ShouldBe("public_per_minute");
            details.GetProperty("limit").GetInt64().ShouldBe(Limit);
            var retryAfter = details.GetProperty("retryAfterSeconds").GetInt64();
            retryAfter.ShouldBeInRange(1, 120);
            limited.Header("Retry-After").ShouldBe(retryAfter.ToString(CultureInfo.InvariantCulture));
        }

        // A window of its own: the same address may still log in (the unauthenticated policy) and a credential is counted as usual.
        (await _server.Anonymous.GetAsync("/api/v1/orgs")).StatusCode.ShouldBe(401);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        // A full window later the sliding count has drained.
        _clock.Advance(TimeSpan.FromMinutes(2));
        var after = await _server.Anonymous.GetAsync(routes[3]);
        after.StatusCode.ShouldBe(200, after.Text);
        after.Header("X-RateLimit-Remaining").ShouldBe((Limit - 1).ToString(CultureInfo.InvariantCulture));
    }
}
