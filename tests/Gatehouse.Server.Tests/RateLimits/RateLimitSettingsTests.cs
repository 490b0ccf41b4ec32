using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.RateLimits;

/// <summary>The documented names of the platform defaults (Gatehouse:RateLimits:PerMinute…) take effect.</summary>
public sealed class RateLimitSettingsTests
{
    [Theory]
    [InlineData("PerMinute", "per_minute")]
    [InlineData("PerFiveMinutes", "per_five_minutes")]
    [InlineData("PerDay", "per_day")]
    public async Task The_documented_setting_limits_a_standard_key(string setting, string window)
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:RateLimits:" + setting] = "3" } });
        var orgId = await server.CreateOrgAsync();
        var client = await server.OrgClientAsync(orgId, "orgs:read");

        for (var i = 1; i <= 3; i++)
        {
            var ok = await client.GetAsync($"/api/v1/orgs/{orgId}");
            ok.StatusCode.ShouldBe(200, $"request {i}: {ok.Text}");
            ok.Header("X-RateLimit-Limit").ShouldBe("3");
        }

        var limited = await client.GetAsync($"/api/v1/orgs/{orgId}");
        limited.StatusCode.ShouldBe(429, limited.Text);
        limited.Body.GetProperty("error").GetProperty("details").GetProperty("window").GetString().ShouldBe(window);
    }
}
