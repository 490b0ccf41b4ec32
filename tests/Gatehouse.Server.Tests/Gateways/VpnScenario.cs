using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Gateways;

/// <summary>
/// A server whose geo-fence reads the test CSV (no MaxMind database exists offline; the CSV source
/// is the same lookup path after parsing), with config generation unthrottled for the concurrency test.
/// </summary>
public sealed class VpnServer : IAsyncLifetime
{
    /// <summary>The test IP → country table: the most specific range wins; loopback is in "NL" so logins from the tests have a country.</summary>
    public const string GeoCsv = """
        network,country
        127.0.0.0/8,NL
        10.0.0.0/8,DE
        10.1.0.0/16,FR
        203.0.113.0/24,US
        198.51.100.0/24,GB
        2001:db8::/32,JP
        2001:db8:1::/48,CA
        """;

    private GatehouseServer? _server;
    private string? _csv;

    public GatehouseServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public async ValueTask InitializeAsync()
    {
        _csv = Path.Combine(Path.GetTempPath(), $"gatehouse-geo-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(_csv, GeoCsv);
        _server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Gatehouse:Gateways:GeoIpCsvPath"] = _csv,
                ["Gatehouse:Gateways:ConfigGenerationPerMinute"] = "100000",
            },
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_csv is not null)
        {
            File.Delete(_csv);
        }
    }
}

/// <summary>An organization with a user allowed through one gateway, and that user's session.</summary>
public sealed record VpnOrg(string OrgId, string UserId, string Email, ApiClient User, string GatewayId, SimulatedGateway Agent, string NetworkId, string Cidr);

public static class VpnSteps
{
    /// <summary>A fixed, valid X25519 public key for a gateway (any 32 bytes are a key to WireGuard's parser).</summary>
    public static string NewWireGuardKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static async Task<VpnOrg> VpnOrgAsync(
        this GatehouseServer server, string vpnType, string cidr = "10.77.0.0/24", string hostname = "vpn.example.org", int port = 1194, string protocol = "udp")
    {
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail("vpn");
        var userId = await server.CreateUserAsync(orgId, email, permissions: ["gateways:read"]);
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways", vpnType == "wireguard"
            ? new { name = "gw", hostname, port, protocol, vpn_type = vpnType, public_key = NewWireGuardKey() }
            : (object)new { name = "gw", hostname, port, protocol, vpn_type = vpnType });
        created.StatusCode.ShouldBe(201, created.Text);
        var gatewayId = created.Str("id");
        var networkId = await server.CreateNetworkAsync(orgId, "lan", cidr, gatewayId);
        await server.CreateRuleAsync(orgId, new { name = "lan", subjects = new[] { "user:" + userId }, network_id = networkId, action = "allow" });
        var session = server.CookielessClient((await server.LoginAsync(email, orgId: orgId)).Token);
        return new VpnOrg(orgId, userId, email, session, gatewayId, new SimulatedGateway(server, created.Str("token")), networkId, cidr);
    }

    public static async Task<ApiResponse> GenerateAsync(this ApiClient client, string gatewayId, string protocol, string? publicKey = null)
    {
        var body = publicKey is null ? (object)new { gateway_id = gatewayId, protocol } : new { gateway_id = gatewayId, protocol, public_key = publicKey };
        return await client.PostAsync("/api/v1/configs/generate", body);
    }

    /// <summary>Generates and downloads a config; returns its id and the file's text.</summary>
    public static async Task<(string ConfigId, string File)> GenerateAndDownloadAsync(this ApiClient client, string gatewayId, string protocol, string? publicKey = null)
    {
        var generated = await client.GenerateAsync(gatewayId, protocol, publicKey);
        generated.StatusCode.ShouldBe(201, generated.Text);
        var file = await client.GetAsync(generated.Str("download_url"));
        file.StatusCode.ShouldBe(200, file.Text);
        return (generated.Str("config_id"), file.Text);
    }

    /// <summary>The value of <c>Key = value</c> in a config file.</summary>
    public static string? Setting(string file, string key) =>
        file.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(key + " =", StringComparison.Ordinal)).Select(l => l[(key.Length + 2)..].Trim()).FirstOrDefault();
}
