using Gatehouse.Server.Tests.Webhooks;

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

    [Fact]
    public async Task A_gateway_marked_offline_closes_its_open_connections_with_an_event_each()
    {
        var orgId = await _server.CreateOrgAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        await _server.CreateWebhookAsync(orgId, receiver.Url(), "gateway.offline", "gateway.client_disconnected");
        var (gatewayId, agent) = await _server.CreateGatewayAsync(orgId, "doomed");
        var (_, bystander) = await _server.CreateGatewayAsync(orgId, "never-beats");

        // Connections opened before the gateway's heartbeat, so none can come after it is marked offline.
        var first = await agent.PostAsync("connect", new { serial = "0A01", client_ip = "203.0.113.10", virtual_ip = "10.8.0.2" });
        first.StatusCode.ShouldBe(201, first.Text);
        var second = await agent.PostAsync("connect", new { serial = "0A02", client_ip = "203.0.113.11", virtual_ip = "10.8.0.3", bytes_in = 5 });
        second.StatusCode.ShouldBe(201, second.Text);
        (await agent.PostAsync("connect", new { serial = "0A03", client_ip = "203.0.113.12" })).StatusCode.ShouldBe(201);
        var reported = await agent.PostAsync("disconnect", new { serial = "0A03", client_ip = "203.0.113.12" });
        reported.Str("disconnect_reason").ShouldBe("reported");
        (await bystander.PostAsync("connect", new { serial = "0B01", client_ip = "203.0.113.20" })).StatusCode.ShouldBe(201);
        (await agent.HeartbeatAsync()).Str("status").ShouldBe("online");

        // The agent is "killed": the offline job ends both open connections in the change that marks it offline.
        await Eventually.TrueAsync(async () => (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}")).Str("status") == "offline",
            "the gateway to be marked offline after 3 missed heartbeats");
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=gateway.client_disconnect&limit=100");
        var closedByJob = audit.Data.EnumerateArray().Where(e => e.GetProperty("actor").GetProperty("type").GetString() == "system").ToList();
        closedByJob.Select(e => e.GetProperty("target").GetProperty("id").GetString()).Order().ShouldBe(new[] { first.Str("id"), second.Str("id") }.Order());

        var events = await receiver.WaitForAsync(r => r.Type == "gateway.client_disconnected", count: 3);
        var offlineEvents = events.Where(e => e.Json.GetProperty("data").GetProperty("changes").GetProperty("reason").GetString() == "gateway_offline").ToList();
        offlineEvents.Select(e => e.Json.GetProperty("data").GetProperty("id").GetString()).Order().ShouldBe(new[] { first.Str("id"), second.Str("id") }.Order());
        offlineEvents.ShouldAllBe(e => e.Json.GetProperty("data").GetProperty("changes").GetProperty("gatewayId").GetString() == gatewayId);
        await receiver.WaitForAsync(r => r.Type == "gateway.offline");

        // Nothing is left open at the offline gateway; the other gateway's connection is untouched.
        (await agent.PostAsync("disconnect", new { serial = "0A01", client_ip = "203.0.113.10" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await agent.PostAsync("disconnect", new { serial = "0A02", client_ip = "203.0.113.11" })).ErrorCode.ShouldBe("NOT_FOUND");
        var other = await bystander.PostAsync("disconnect", new { serial = "0B01", client_ip = "203.0.113.20" });
        other.StatusCode.ShouldBe(200, other.Text);
        other.Str("disconnect_reason").ShouldBe("reported");
    }
}
