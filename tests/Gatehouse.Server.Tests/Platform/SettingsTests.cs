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

    [Theory]
    [InlineData("Gatehouse:WebhooksAllowInsecure", "Gatehouse:Webhooks:AllowInsecure")]
    [InlineData("Gatehouse:WebhookDeliveryEnabled", "Gatehouse:Webhooks:DeliveryEnabled")]
    [InlineData("Gatehouse:UsageFlushSeconds", "Gatehouse:ApiKeys:UsageFlushSeconds")]
    public async Task A_key_that_moved_into_its_feature_section_stops_the_server_naming_the_new_key(string oldKey, string newKey)
    {
        var ex = await Should.ThrowAsync<StartupException>(() => GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { [oldKey] = "true" } }));

        ex.Message.ShouldContain(oldKey);
        ex.Message.ShouldContain(newKey);
    }

    [Theory]
    [InlineData("Gatehouse:RateLimits:SharedFlushMilliseconds", "9")]
    [InlineData("Gatehouse:RateLimits:ExactThresholdPercent", "101")]
    // Past 20 % a node's budget alone breaks the bound of 1.2 × a limit across nodes.
    [InlineData("Gatehouse:RateLimits:LocalBudgetPercent", "21")]
    public async Task A_shared_rate_limit_setting_out_of_range_stops_the_server_naming_it(string key, string value)
    {
        var ex = await Should.ThrowAsync<StartupException>(() => GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { [key] = value } }));

        ex.Message.ShouldContain(key);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    public async Task A_feature_setting_out_of_range_stops_the_server_naming_it(string value)
    {
        var ex = await Should.ThrowAsync<StartupException>(() => GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:ApiKeys:UsageFlushSeconds"] = value } }));

        ex.Message.ShouldContain("Gatehouse:ApiKeys:UsageFlushSeconds");
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
                ["Gatehouse:ApiKeys:UsageFlushSeconds"] = "60",
                ["Gatehouse:Webhooks:DeliveryEnabled"] = "true",
                ["Gatehouse:Vault:ReencryptInBackground"] = "true",
                ["Gatehouse:TrustedProxies:0"] = "10.0.0.0/8",
                ["Gatehouse:TrustedProxyHeader"] = "X-Forwarded-For",
                ["Gatehouse:RateLimits:Enabled"] = "true",
                ["Gatehouse:RateLimits:StandardPerMinute"] = "1000000000",
                ["Gatehouse:RateLimits:SharedFlushMilliseconds"] = "100",
                ["Gatehouse:RateLimits:ExactThresholdPercent"] = "90",
                ["Gatehouse:RateLimits:LocalBudgetPercent"] = "4",
            },
        });

        (await server.Anonymous.GetAsync("/api/v1/health")).StatusCode.ShouldBe(200);
    }
}
