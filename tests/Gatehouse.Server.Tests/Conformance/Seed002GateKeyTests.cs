namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 002 (GateKey "API Overview"): local login, sessions and the user list are built; OIDC
/// login, gateways, networks, access rules, mesh hubs, VPN configs, geo-fencing, the gateway agent's
/// routes and PKI are built by the gateways and PKI work (API.md §10) and are pending here.
/// </summary>
public sealed class Seed002GateKeyTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 27;
    private const string Gateways = "gateways and PKI";
    private const string Password = "seed-002-long-passphrase-K4";
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_endpoint_of_seed_002_answers_as_the_document_shows_or_is_pending()
    {
        var walk = new SeedWalk("002");
        var orgId = await _server.CreateOrgAsync("Seed 002");
        var email = $"seed-002-{Guid.NewGuid():N}@example.org";
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email, name = "VPN user", password = Password, permissions = new[] { "gateways:read" } }))
            .StatusCode.ShouldBe(201);
        ApiClient? session = null;

        // User Endpoints.
        walk.Pending("GET /auth/oidc/login", Gateways);
        walk.Pending("GET /auth/oidc/callback", Gateways);
        await walk.BuiltAsync("POST /auth/local/login", async () =>
        {
            // A client of its own: a login sets the session cookie, which must not stick to the shared anonymous client.
            var login = await _server.CreateClient(null).PostAsync("/api/v1/auth/local/login", new { email, password = Password, orgId });
            login.ShouldBeEnvelope(200);
            session = _server.CreateClient(login.Str("token"));
        });
        await walk.BuiltAsync("GET /auth/session", async () =>
        {
            var current = await session!.GetAsync("/api/v1/auth/session");
            current.ShouldBeEnvelope(200);
            current.Data.GetProperty("user").GetProperty("email").GetString().ShouldBe(email);
        });
        await walk.BuiltAsync("POST /auth/logout", async () =>
        {
            (await session!.PostAsync("/api/v1/auth/logout", new { })).ShouldBeEnvelope(200);
            (await session!.GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401);
        });
        walk.Pending("POST /configs/generate", Gateways);
        walk.Pending("GET /gateways", Gateways);
        walk.Pending("GET /mesh/hubs", Gateways);

        // Admin Endpoints.
        await walk.BuiltAsync("GET /admin/users", async () =>
        {
            var users = await _server.Root.GetAsync($"/api/v1/admin/users?email={Uri.EscapeDataString(email)}");
            users.ShouldBeEnvelope(200);
            users.Data.EnumerateArray().Select(u => u.GetProperty("email").GetString()).ShouldContain(email);
        });
        walk.Pending("GET/POST /admin/gateways", Gateways);
        walk.Pending("PUT/DELETE /admin/gateways/:id", Gateways);
        walk.Pending("GET/POST /admin/networks", Gateways);
        walk.Pending("GET/POST /admin/access-rules", Gateways);
        walk.Pending("GET/POST /admin/mesh/hubs", Gateways);
        walk.Pending("GET /admin/configs", Gateways);
        walk.Pending("* /admin/geo-fence/*", Gateways);

        // Gateway Internal Endpoints (X-Gateway-Token).
        foreach (var route in new[] { "heartbeat", "verify", "connect", "disconnect", "provision", "client-rules", "all-rules" })
        {
            walk.Pending($"POST /gateway/{route}", Gateways);
        }

        // PKI Endpoints.
        walk.Pending("GET /pki/crl", Gateways);
        walk.Pending("GET /pki/crl.pem", Gateways);
        walk.Pending("GET /pki/check/:serial", Gateways);
        walk.Pending("POST /admin/pki/revoke", Gateways);

        await walk.CheckAsync("check the OpenAPI specification is served where the document says", async () =>
            (await _server.Anonymous.GetAsync("/api/v1/openapi.json")).StatusCode.ShouldBe(200));
        await walk.CheckAsync("check an expired or unknown token is 401", async () =>
            (await _server.CreateClient("gks_" + new string('1', 40)).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401));
        walk.Finish(DocumentedEndpoints);
    }
}
