namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 002 (GateKey "API Overview"): local login, sessions, the user list, gateways, networks,
/// access rules, the gateway agent's routes, PKI, VPN configs, mesh hubs and geo-fencing are built;
/// OIDC login is built too (its whole flow against a real provider is Users/OidcLoginTests).
/// </summary>
public sealed class Seed002GateKeyTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 27;
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
        // The whole flow against a real provider is Users/OidcLoginTests; here each route answers in its documented shape.
        await walk.BuiltAsync("GET /auth/oidc/login", async () =>
        {
            (await _server.Anonymous.GetAsync($"/api/v1/auth/oidc/login?org={orgId}")).ShouldBeError(404, "NOT_FOUND");
            (await _server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse", clientSecret = "seed-002-client-secret-0123456789" }))
                .ShouldBeEnvelope(200);
            (await _server.Anonymous.GetAsync("/api/v1/auth/oidc/login")).ShouldBeError(400, "INVALID_REQUEST");
        });
        await walk.BuiltAsync("GET /auth/oidc/callback", async () =>
            (await _server.Anonymous.GetAsync("/api/v1/auth/oidc/callback?code=abc&state=never-issued")).ShouldBeError(400, "INVALID_REQUEST"));
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
        // A WireGuard gateway the user may reach, for the config and mesh endpoints.
        var wireGuard = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways",
            new { name = "seed-wg", hostname = "wg.example.com", port = 51820, protocol = "udp", vpn_type = "wireguard", public_key = Convert.ToBase64String(new byte[32]) });
        var wgNetwork = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/networks", new { name = "seed-wg-net", cidr = "10.123.0.0/24", gateway_ids = new[] { wireGuard.Str("id") } });
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/access-rules", new { name = "seed-wg-all", subjects = new[] { "*" }, network_id = wgNetwork.Str("id"), action = "allow" })).StatusCode.ShouldBe(201);
        var vpnUser = _server.CreateClient((await _server.CreateClient(null).PostAsync("/api/v1/auth/local/login", new { email, password = Password, orgId })).Str("token"));
        await walk.BuiltAsync("POST /configs/generate", async () =>
        {
            var generated = await vpnUser.PostAsync("/api/v1/configs/generate", new { gateway_id = wireGuard.Str("id"), protocol = "wireguard" });
            generated.ShouldBeGateKeyEnvelope(201);
            generated.Str("download_url").ShouldBe("/api/v1/configs/download/" + generated.Str("config_id"));
            generated.Data.TryGetProperty("expires_at", out _).ShouldBeTrue();
            (await vpnUser.GetAsync(generated.Str("download_url"))).Text.ShouldContain("[Peer]");
        });
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/mesh/hubs", new { name = "seed-hub", gateway_id = wireGuard.Str("id"), network_ids = new[] { wgNetwork.Str("id") } });
        await walk.BuiltAsync("GET /mesh/hubs", async () =>
        {
            var hubs = await vpnUser.GetAsync("/api/v1/mesh/hubs");
            hubs.ShouldBeGateKeyEnvelope(200);
            hubs.Data[0].GetProperty("name").GetString().ShouldBe("seed-hub");
        });

        // Admin Endpoints.
        await walk.BuiltAsync("GET /admin/users", async () =>
        {
            var users = await _server.Root.GetAsync($"/api/v1/admin/users?email={Uri.EscapeDataString(email)}");
            users.ShouldBeEnvelope(200);
            users.Data.EnumerateArray().Select(u => u.GetProperty("email").GetString()).ShouldContain(email);
        });
        // The gateways part, with an org API key as GateKey shows (Authorization: Bearer).
        var admin = _server.CreateClient((await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "gatekey admin", permissions = new[] { "gateways:write", "gateways:read", "pki:write" } })).Str("key"));
        string gatewayId = "", networkId = "", gatewayToken = "", serial = "";
        await walk.BuiltAsync("GET/POST /admin/gateways", async () =>
        {
            var created = await admin.PostAsync("/api/v1/admin/gateways", new { name = "us-east-1", description = "US East Coast Gateway", hostname = "vpn-us-east.example.com", port = 1194, protocol = "udp", vpn_type = "openvpn" });
            created.ShouldBeGateKeyEnvelope(201);
            (gatewayId, gatewayToken) = (created.Str("id"), created.Str("token"));
            (await admin.GetAsync("/api/v1/admin/gateways")).ShouldBeGateKeyEnvelope(200);
        });
        await walk.BuiltAsync("PUT/DELETE /admin/gateways/:id", async () =>
        {
            (await admin.PutAsync($"/api/v1/admin/gateways/{gatewayId}", new { description = "US East" })).ShouldBeGateKeyEnvelope(200);
            var spare = await admin.PostAsync("/api/v1/admin/gateways", new { name = "spare", hostname = "spare.example.com", port = 51820, protocol = "udp", vpn_type = "wireguard" });
            (await admin.DeleteAsync($"/api/v1/admin/gateways/{spare.Str("id")}")).ShouldBeGateKeyEnvelope(200);
        });
        await walk.BuiltAsync("GET/POST /admin/networks", async () =>
        {
            var created = await admin.PostAsync("/api/v1/admin/networks", new { name = "office", cidr = "10.10.0.0/16", gateway_ids = new[] { gatewayId } });
            created.ShouldBeGateKeyEnvelope(201);
            networkId = created.Str("id");
            (await admin.GetAsync("/api/v1/admin/networks")).ShouldBeGateKeyEnvelope(200);
        });
        await walk.BuiltAsync("GET/POST /admin/access-rules", async () =>
        {
            (await admin.PostAsync("/api/v1/admin/access-rules", new { name = "everyone-office", subjects = new[] { "*" }, network_id = networkId, action = "allow" })).ShouldBeGateKeyEnvelope(201);
            (await admin.GetAsync("/api/v1/admin/access-rules")).ShouldBeGateKeyEnvelope(200);
        });
        await walk.BuiltAsync("GET/POST /admin/mesh/hubs", async () =>
        {
            (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "seed-hub-2", gateway_id = wireGuard.Str("id") })).ShouldBeGateKeyEnvelope(201);
            (await admin.GetAsync("/api/v1/admin/mesh/hubs")).Data.GetArrayLength().ShouldBe(2);
        });
        await walk.BuiltAsync("GET /admin/configs", async () =>
        {
            var configs = await _server.Root.GetAsync("/api/v1/admin/configs", new Dictionary<string, string> { ["X-Tenant-Id"] = orgId });
            configs.ShouldBeGateKeyEnvelope(200);
            configs.Data[0].GetProperty("protocol").GetString().ShouldBe("wireguard");
        });
        await walk.BuiltAsync("* /admin/geo-fence/*", async () =>
        {
            (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "deny", countries = new[] { "KP" } })).ShouldBeGateKeyEnvelope(200);
            (await admin.GetAsync("/api/v1/admin/geo-fence")).Str("mode").ShouldBe("deny");
            (await admin.PostAsync("/api/v1/admin/geo-fence/check", new { ip = "198.51.100.7" })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
            (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "off" })).ShouldBeGateKeyEnvelope(200);
        });
        await walk.BuiltAsync("GET /gateways", async () =>
        {
            var listed = await admin.GetAsync("/api/v1/gateways");
            listed.ShouldBeGateKeyEnvelope(200);
            var first = listed.Data[0];
            foreach (var field in new[] { "id", "name", "description", "hostname", "port", "protocol", "status", "last_heartbeat" })
            {
                first.TryGetProperty(field, out _).ShouldBeTrue(field);
            }
        });

        // Gateway Internal Endpoints (X-Gateway-Token).
        var agent = _server.CreateClient(null);
        var token = new Dictionary<string, string> { ["X-Gateway-Token"] = gatewayToken };
        using var clientKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        await walk.BuiltAsync("POST /gateway/heartbeat", async () => (await agent.PostAsync("/api/v1/gateway/heartbeat", new { version = "1.0.0" }, token)).ShouldBeGateKeyEnvelope(200));
        await walk.BuiltAsync("POST /gateway/provision", async () =>
        {
            var csr = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=vpn-us-east.example.com", clientKey, System.Security.Cryptography.HashAlgorithmName.SHA256);
            (await agent.PostAsync("/api/v1/gateway/provision", new { csr = csr.CreateSigningRequestPem() }, token)).ShouldBeGateKeyEnvelope(200);
        });
        serial = (await Pki.PkiTests.IssueClientAsync(_server, orgId, email, (await _server.Root.GetAsync($"/api/v1/admin/users?email={Uri.EscapeDataString(email)}")).Data[0].GetProperty("id").GetString())).Serial;
        await walk.BuiltAsync("POST /gateway/verify", async () => (await agent.PostAsync("/api/v1/gateway/verify", new { serial }, token)).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue());
        await walk.BuiltAsync("POST /gateway/connect", async () => (await agent.PostAsync("/api/v1/gateway/connect", new { serial, client_ip = "198.51.100.7" }, token)).ShouldBeGateKeyEnvelope(201));
        await walk.BuiltAsync("POST /gateway/disconnect", async () => (await agent.PostAsync("/api/v1/gateway/disconnect", new { serial, client_ip = "198.51.100.7", bytes_in = 10, bytes_out = 20 }, token)).ShouldBeGateKeyEnvelope(200));
        await walk.BuiltAsync("POST /gateway/client-rules", async () => (await agent.PostAsync("/api/v1/gateway/client-rules", new { serial }, token)).ShouldBeGateKeyEnvelope(200));
        await walk.BuiltAsync("POST /gateway/all-rules", async () => (await agent.PostAsync("/api/v1/gateway/all-rules", new { }, token)).Str("version").ShouldNotBeNullOrEmpty());

        // PKI Endpoints.
        await walk.BuiltAsync("GET /pki/crl", async () =>
        {
            using var crl = await _server.Anonymous.Http.GetAsync($"/api/v1/pki/crl?org={orgId}");
            crl.Content.Headers.ContentType!.MediaType.ShouldBe("application/pkix-crl");
        });
        await walk.BuiltAsync("GET /pki/crl.pem", async () => (await _server.Anonymous.GetAsync($"/api/v1/pki/crl.pem?org={orgId}")).Text.ShouldStartWith("-----BEGIN X509 CRL-----"));
        await walk.BuiltAsync("GET /pki/check/:serial", async () => (await _server.Anonymous.GetAsync($"/api/v1/pki/check/{serial}?org={orgId}")).Str("status").ShouldBe("good"));
        await walk.BuiltAsync("POST /admin/pki/revoke", async () =>
            (await admin.PostAsync("/api/v1/admin/pki/revoke", new { serial, reason = "key_compromise" })).Str("status").ShouldBe("revoked"));

        await walk.CheckAsync("check the OpenAPI specification is served where the document says", async () =>
            (await _server.Anonymous.GetAsync("/api/v1/openapi.json")).StatusCode.ShouldBe(200));
        await walk.CheckAsync("check an expired or unknown token is 401", async () =>
            (await _server.CreateClient("gks_" + new string('1', 40)).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401));
        walk.Finish(DocumentedEndpoints);
    }

}

/// <summary>GateKey's routes keep its snake_case names inside the envelope, the meta's included.</summary>
internal static class GateKeyEnvelope
{
    public static void ShouldBeGateKeyEnvelope(this ApiResponse response, int status)
    {
        response.StatusCode.ShouldBe(status, response.Text);
        response.Body.GetProperty("success").GetBoolean().ShouldBeTrue(response.Text);
        response.Body.TryGetProperty("data", out _).ShouldBeTrue(response.Text);
        response.Body.GetProperty("meta").GetProperty("request_id").GetString().ShouldNotBeNullOrEmpty();
    }
}
