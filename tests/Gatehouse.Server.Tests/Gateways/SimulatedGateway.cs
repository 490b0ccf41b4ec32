namespace Gatehouse.Server.Tests.Gateways;

/// <summary>A gateway agent as GateKey's runs: it calls the agent routes at their GateKey paths with its X-Gateway-Token.</summary>
public sealed class SimulatedGateway(GatehouseServer server, string token)
{
    private readonly ApiClient _client = server.CreateClient(null);

    public string Token { get; } = token;

    public Task<ApiResponse> PostAsync(string route, object body) =>
        _client.PostAsync("/api/v1/gateway/" + route, body, new Dictionary<string, string> { ["X-Gateway-Token"] = Token });

    public Task<ApiResponse> HeartbeatAsync(object? body = null) => PostAsync("heartbeat", body ?? new { version = "1.4.2", connected_clients = 3, load = 0.25 });

    public Task<ApiResponse> VerifyAsync(string serial) => PostAsync("verify", new { serial });

    public Task<ApiResponse> ClientRulesAsync(string serial) => PostAsync("client-rules", new { serial });

    public Task<ApiResponse> AllRulesAsync() => PostAsync("all-rules", new { });
}

/// <summary>Steps the gateway tests share.</summary>
public static class GatewaySteps
{
    public static async Task<(string Id, SimulatedGateway Agent)> CreateGatewayAsync(this GatehouseServer server, string orgId, string name, string hostname = "vpn.example.org")
    {
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways",
            new { name, description = "test", hostname, port = 1194, protocol = "udp", vpn_type = "openvpn" });
        created.StatusCode.ShouldBe(201, created.Text);
        return (created.Str("id"), new SimulatedGateway(server, created.Str("token")));
    }

    public static async Task<string> CreateNetworkAsync(this GatehouseServer server, string orgId, string name, string cidr, params string[] gatewayIds)
    {
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/networks", new { name, cidr, gateway_ids = gatewayIds });
        created.StatusCode.ShouldBe(201, created.Text);
        return created.Str("id");
    }

    public static async Task<string> CreateRuleAsync(this GatehouseServer server, string orgId, object rule)
    {
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/access-rules", rule);
        created.StatusCode.ShouldBe(201, created.Text);
        return created.Str("id");
    }
}
