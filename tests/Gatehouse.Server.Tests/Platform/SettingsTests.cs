using Gatehouse.Server.Platform.Hosting;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>A mistyped setting stops the server instead of silently leaving the default in force.</summary>
public sealed class SettingsTests
{
    [Theory]
    [InlineData("Gatehouse:RateLimts:PerMinute")]
    [InlineData("Gatehouse:MaxRequestBodyByte")]
    [InlineData("Gatehouse:Vault:ReencryptInBackgrund")]
    [InlineData("Gatehouse:TrustedProxies:x")]
    public async Task An_unknown_key_under_Gatehouse_stops_the_server_naming_it(string key)
    {
        var ex = await Should.ThrowAsync<StartupException>(() => GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { [key] = "3" } }));

        ex.Message.ShouldContain(key);
        ex.Message.ShouldNotContain("\n");
    }

    [Fact]
    public async Task Every_documented_key_is_accepted()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Gatehouse:MaxRequestHeadersTotalBytes"] = "32768",
                ["Gatehouse:MinRequestBodyBytesPerSecond"] = "240",
                ["Gatehouse:UsageFlushSeconds"] = "60",
                ["Gatehouse:WebhookDeliveryEnabled"] = "true",
                ["Gatehouse:Vault:ReencryptInBackground"] = "true",
                ["Gatehouse:TrustedProxies:0"] = "10.0.0.0/8",
                ["Gatehouse:TrustedProxyHeader"] = "X-Forwarded-For",
                ["Gatehouse:RateLimits:Enabled"] = "true",
                ["Gatehouse:RateLimits:StandardPerMinute"] = "1000000000",
            },
        });

        (await server.Anonymous.GetAsync("/api/v1/health")).StatusCode.ShouldBe(200);
    }
}
