using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// X-Forwarded-For / Forwarded name the client only when the connection comes from a trusted proxy:
/// the audit ip, API-key IP allowlists and the per-IP rate limit all follow that rule.
/// </summary>
public sealed class TrustedProxyTests
{
    private const string Spoofed = "203.0.113.9";

    private static Task<GatehouseServer> StartAsync(params (string Key, string Value)[] settings) =>
        GatehouseServer.StartAsync(new ServerOptions { Settings = settings.ToDictionary(s => s.Key, s => (string?)s.Value) });

    private static Dictionary<string, string> Headers(string name, string value) => new() { [name] = value };

    [Fact]
    public async Task Without_trusted_proxies_a_forwarded_address_changes_nothing()
    {
        await using var server = await StartAsync();
        var (orgId, auditIp, allowlisted, hsts) = await ProbeAsync(server, Headers("X-Forwarded-For", Spoofed), Headers("X-Forwarded-Proto", "https"));

        auditIp.ShouldBe("127.0.0.1");
        allowlisted.StatusCode.ShouldBe(401, allowlisted.Text);
        allowlisted.ErrorCode.ShouldBe("INVALID_API_KEY");
        hsts.ShouldBeNull();
        orgId.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task A_trusted_proxy_names_the_client_for_audit_allowlist_and_scheme()
    {
        await using var server = await StartAsync(("Gatehouse:TrustedProxies", "127.0.0.0/8, ::1"));
        var (_, auditIp, allowlisted, hsts) = await ProbeAsync(server, Headers("X-Forwarded-For", "198.51.100.1, " + Spoofed), Headers("X-Forwarded-Proto", "https"));

        auditIp.ShouldBe(Spoofed);
        allowlisted.StatusCode.ShouldBe(200, allowlisted.Text);
        hsts.ShouldBe("max-age=31536000");
    }

    [Fact]
    public async Task A_proxy_outside_the_trusted_ranges_is_not_believed()
    {
        await using var server = await StartAsync(("Gatehouse:TrustedProxies", "10.0.0.0/8"));
        var (_, auditIp, allowlisted, _) = await ProbeAsync(server, Headers("X-Forwarded-For", Spoofed), Headers("X-Forwarded-Proto", "https"));

        auditIp.ShouldBe("127.0.0.1");
        allowlisted.StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task In_Forwarded_mode_the_RFC_7239_header_names_the_client_and_X_Forwarded_For_is_ignored()
    {
        await using var server = await StartAsync(("Gatehouse:TrustedProxies", "127.0.0.1"), ("Gatehouse:TrustedProxyHeader", "Forwarded"));
        var (_, auditIp, allowlisted, hsts) = await ProbeAsync(server, Headers("Forwarded", $"for=\"{Spoofed}:4711\";proto=https"), Headers("Forwarded", $"for={Spoofed};proto=https"));

        auditIp.ShouldBe(Spoofed);
        allowlisted.StatusCode.ShouldBe(200, allowlisted.Text);
        hsts.ShouldBe("max-age=31536000");

        var orgId = await server.CreateOrgAsync();
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = new[] { "a:b" } }, Headers("X-Forwarded-For", "198.51.100.77"));
        (await AuditIpAsync(server, orgId)).ShouldBe("127.0.0.1");
    }

    [Fact]
    public async Task The_per_IP_limit_of_anonymous_requests_counts_the_forwarded_client_only_behind_a_trusted_proxy()
    {
        foreach (var trusted in new[] { false, true })
        {
            var settings = new List<(string, string)> { ("Gatehouse:RateLimits:UnauthenticatedPerMinute", "3") };
            if (trusted)
            {
                settings.Add(("Gatehouse:TrustedProxies", "127.0.0.0/8"));
            }

            await using var server = await StartAsync([.. settings]);
            for (var i = 0; i < 3; i++)
            {
                (await server.Anonymous.GetAsync("/api/v1/orgs", Headers("X-Forwarded-For", "198.51.100.1"))).StatusCode.ShouldBe(401);
            }

            (await server.Anonymous.GetAsync("/api/v1/orgs", Headers("X-Forwarded-For", "198.51.100.1"))).StatusCode.ShouldBe(429);
            var other = await server.Anonymous.GetAsync("/api/v1/orgs", Headers("X-Forwarded-For", "198.51.100.2"));
            other.StatusCode.ShouldBe(trusted ? 401 : 429, $"trusted={trusted}");
        }
    }

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("10.0.0.0/33")]
    public async Task A_malformed_trusted_proxy_stops_the_server(string value)
    {
        var ex = await Should.ThrowAsync<StartupException>(() => StartAsync(("Gatehouse:TrustedProxies", value)));
        ex.Message.ShouldContain(value);
    }

    /// <summary>A role change (audited) and a call with an allowlisted key, both sent with <paramref name="forwarded"/>.</summary>
    private static async Task<(string OrgId, string? AuditIp, ApiResponse Allowlisted, string? Hsts)> ProbeAsync(
        GatehouseServer server, Dictionary<string, string> forwarded, Dictionary<string, string> forwardedForKey)
    {
        var orgId = await server.CreateOrgAsync();
        var role = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = new[] { "a:b" } }, forwarded);
        role.StatusCode.ShouldBe(201, role.Text);
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "orgs:read" }, ipAllowlist = new[] { "203.0.113.0/24" } });
        var allowlisted = await server.CreateClient(key).GetAsync($"/api/v1/orgs/{orgId}", forwardedForKey.Concat(forwarded).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.First().Value));
        return (orgId, await AuditIpAsync(server, orgId), allowlisted, allowlisted.Header("Strict-Transport-Security"));
    }

    private static async Task<string?> AuditIpAsync(GatehouseServer server, string orgId)
    {
        var audit = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=role.create");
        audit.StatusCode.ShouldBe(200, audit.Text);
        return audit.Data.EnumerateArray().Where(e => e.GetProperty("action").GetString() == "role.create").Select(e => e.GetProperty("ip").GetString()).Last();
    }
}
