using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Security.Adversarial;

/// <summary>The ids of one organization's resources, by route parameter name.</summary>
public sealed record OrgResources(string OrgId, IReadOnlyDictionary<string, string> Ids)
{
    public string this[string parameter] => parameter == "orgId" ? OrgId : Ids[parameter];

    public bool Has(string parameter) => parameter == "orgId" || Ids.ContainsKey(parameter);
}

/// <summary>
/// Two organizations, each holding one of every resource a route parameter can name (key, role,
/// webhook and delivery, credential, user and session), and a third set of ids whose resources were deleted.
/// </summary>
public sealed class World
{
    private World(OrgResources a, OrgResources b, OrgResources deleted, string sampleSecret, string adminKeyA)
    {
        A = a;
        B = b;
        Deleted = deleted;
        SampleSecret = sampleSecret;
        AdminKeyA = adminKeyA;
    }

    public OrgResources A { get; }
    public OrgResources B { get; }

    /// <summary>Resources of <see cref="A"/> that existed and were deleted (a deleted org id among them).</summary>
    public OrgResources Deleted { get; }

    /// <summary>A working key of A with only a custom permission.</summary>
    public string SampleSecret { get; }

    /// <summary>A key of A holding <c>*</c>.</summary>
    public string AdminKeyA { get; }

    /// <summary>The password of every world user (long and not a common one).</summary>
    public const string UserPassword = "world-resident-passphrase-7Q";

    public static async Task<World> CreateAsync(GatehouseServer server)
    {
        var a = await PopulateAsync(server, "World A");
        var b = await PopulateAsync(server, "World B");
        var deleted = await PopulateAsync(server, "World deleted");
        var root = server.Root;
        var org = deleted.OrgId;
        // Delete each resource on its own first, then the organization: both kinds of "gone" are named.
        await root.DeleteAsync($"/api/v1/orgs/{org}/api-keys/{deleted["keyId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/roles/{deleted["roleId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/credentials/{deleted["integrationId"]}/{deleted["credentialId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/webhooks/{deleted["webhookId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/users/{deleted["userId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/service-accounts/{deleted["serviceAccountId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/oauth-clients/{deleted["clientId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/devices/{deleted["deviceId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/device-apps/{deleted["appId"]}");
        await root.PostAsync($"/api/v1/orgs/{org}/admin/configs/{deleted["configId"]}/revoke", new { });
        await root.DeleteAsync($"/api/v1/orgs/{org}/admin/mesh/hubs/{deleted["hubId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/admin/access-rules/{deleted["accessRuleId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/admin/networks/{deleted["networkId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}/admin/gateways/{deleted["gatewayId"]}");
        await root.DeleteAsync($"/api/v1/orgs/{org}");
        var (_, sample) = await server.CreateKeyAsync(a.OrgId, new { name = "sample", permissions = new[] { "deploy:write" } });
        var (_, admin) = await server.CreateKeyAsync(a.OrgId, new { name = "world admin", permissions = new[] { "*" } });
        return new World(a, b, deleted, sample, admin);
    }

    private static async Task<OrgResources> PopulateAsync(GatehouseServer server, string name)
    {
        var root = server.Root;
        var orgId = await server.CreateOrgAsync(name);
        var ids = new Dictionary<string, string>();
        ids["keyId"] = (await server.CreateKeyAsync(orgId, new { name = "resident", permissions = new[] { "deploy:read" } })).Id;
        ids["roleId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "resident", permissions = new[] { "deploy:read" } })).Str("id");
        var webhook = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/resident", events = new[] { "role.created" } }));
        ids["webhookId"] = webhook.Str("id");
        var delivery = await root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{ids["webhookId"]}/test", new { });
        ids["deliveryId"] = delivery.StatusCode is >= 200 and < 300 ? delivery.Str("id") : "wdl_none";
        // Integration ids are names chosen by the org: unique here, so another org's cannot match by accident.
        var integrationId = "resident-" + Guid.NewGuid().ToString("N")[..8];
        var credential = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new
        {
            integrationId,
            authType = "api_key",
            name = "resident",
            data = new { apiKey = "sk_resident_" + Guid.NewGuid().ToString("N") },
        }));
        ids["integrationId"] = integrationId;
        ids["serviceAccountId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "resident", permissions = new[] { "deploy:read" } }))
            .Data.GetProperty("serviceAccount").GetProperty("id").GetString()!;
        ids["credentialId"] = credential.Str("id");
        ids["clientId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", new { name = "resident", scopes = new[] { "deploy:read" } })).Str("id");
        ids["storageConfigId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/storage-configs", new { name = "resident", provider = "local" })).Str("id");
        ids["ruleId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/drm-rules", new { name = "resident" })).Str("id");
        ids["contactId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/address-book", new { email = "resident@example.org", name = "Resident" })).Str("id");
        ids["tagId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/tags", new { name = "resident" })).Str("id");
        ids["containerId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/containers", new { name = "resident", drmRuleId = ids["ruleId"] })).Str("id");
        ids["fileId"] = Created(await Content.ContentScenario.UploadAsync(root, orgId, ids["containerId"], [1, 2, 3])).Str("id");
        ids["shareId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/containers/{ids["containerId"]}/shares", new { recipients = new[] { "resident@example.org" } })).Str("id");
        var email = $"resident-{Guid.NewGuid():N}@example.org";
        ids["userId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email, name = "Resident", password = World.UserPassword, permissions = new[] { "deploy:read" } })).Str("id");
        var login = Created(await server.CreateClient(null).PostAsync("/api/v1/auth/local/login", new { email, password = World.UserPassword, orgId }));
        ids["sessionId"] = login.Data.GetProperty("session").GetProperty("id").GetString()!;
        ids["gatewayId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways",
            new { name = "resident", hostname = "vpn.resident.example", port = 1194, protocol = "udp", vpn_type = "openvpn" })).Str("id");
        ids["networkId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/networks", new { name = "resident", cidr = "10.42.0.0/16", gateway_ids = new[] { ids["gatewayId"] } })).Str("id");
        ids["accessRuleId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/access-rules",
            new { name = "resident", subjects = new[] { "*" }, network_id = ids["networkId"], action = "allow" })).Str("id");
        ids["wgGatewayId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways",
            new { name = "resident-wg", hostname = "wg.resident.example", port = 51820, protocol = "udp", vpn_type = "wireguard", public_key = Convert.ToBase64String(new byte[32]) })).Str("id");
        var wgNetworkId = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/networks", new { name = "resident-wg", cidr = "10.43.0.0/24", gateway_ids = new[] { ids["wgGatewayId"] } })).Str("id");
        ids["hubId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/admin/mesh/hubs", new { name = "resident", gateway_id = ids["wgGatewayId"], network_ids = new[] { wgNetworkId } })).Str("id");
        ids["configId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/configs/generate", new { gateway_id = ids["gatewayId"], protocol = "openvpn", user_id = ids["userId"] })).Str("config_id");
        ids["appId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/device-apps", new { name = "resident", redirectUrls = new[] { "https://resident.example/cb" } })).Str("id");
        Created(await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { enabled = false, issuer = "https://127.0.0.1:9", clientId = "resident", clientSecret = "resident-client-secret-0123456789" }));
        using var deviceKey = new Devices.TestDevice();
        ids["deviceId"] = Created(await root.PostAsync($"/api/v1/orgs/{orgId}/devices", new { userId = "resident", appId = ids["appId"], publicKeyJwk = deviceKey.PublicJwk })).Str("id");
        return new OrgResources(orgId, ids);
    }

    private static ApiResponse Created(ApiResponse response) =>
        response.StatusCode is 200 or 201 ? response : throw new InvalidOperationException($"Setting up the world failed: {response}");
}

/// <summary>A server of its own with a <see cref="World"/> in it, shared by the tests of one class.</summary>
public sealed class WorldServer : IAsyncLifetime
{
    private GatehouseServer? _server;
    private World? _world;

    public GatehouseServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public World World => _world ?? throw new InvalidOperationException("The world has not been made.");

    public async ValueTask InitializeAsync()
    {
        _server = await GatehouseServer.StartAsync();
        _world = await World.CreateAsync(_server);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
