namespace Gatehouse.Server.Tests.Gateways;

/// <summary>A server of its own: heartbeats every second, so 3 missed ones take seconds, not minutes.</summary>
public sealed class GatewayOfflineTests : IAsyncLifetime
{
    private GatehouseServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Gateways:HeartbeatIntervalSeconds"] = "1" } });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_gateway_that_stops_sending_heartbeats_is_marked_offline_and_back_online_by_the_next()
    {
        var orgId = await _server.CreateOrgAsync();
        var (gatewayId, agent) = await _server.CreateGatewayAsync(orgId, "flaky");
        var beat = await agent.HeartbeatAsync();
        beat.Data.GetProperty("next_heartbeat_seconds").GetInt32().ShouldBe(1);

        // The agent is "killed": no more heartbeats.
        await Eventually.TrueAsync(async () => (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}")).Str("status") == "offline",
            "the gateway to be marked offline after 3 missed heartbeats");
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=gateway.offline");
        audit.Data.GetArrayLength().ShouldBe(1);

        (await agent.HeartbeatAsync()).Str("status").ShouldBe("online");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}")).Str("status").ShouldBe("online");
    }
}
