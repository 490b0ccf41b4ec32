using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 000 (Relock "API Overview"): device verification, devices and device-bound sessions are
/// built by the devices work (API.md §9) and are pending here; what the document says of every
/// route — Bearer API keys, the envelope, its error codes, rate-limit headers — and its webhook
/// endpoints are walked now.
/// </summary>
public sealed class Seed000RelockTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 11;
    private const string Devices = "devices";
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_endpoint_of_seed_000_answers_as_the_document_shows_or_is_pending()
    {
        var walk = new SeedWalk("000");
        var orgId = await _server.CreateOrgAsync("Seed 000");
        var (_, apiKey) = await _server.CreateKeyAsync(orgId, new { name = "relock backend", permissions = new[] { "webhooks:*", "api_keys:read" } });
        var client = _server.CreateClient(apiKey);

        // Authentication.
        walk.Pending("POST /device-auth/url (Generate Auth URL)", Devices);
        walk.Pending("POST /device-auth/verify (Verify Token)", Devices);
        walk.Pending("POST /device-auth/refresh (Refresh Token)", Devices);

        // Device Management.
        walk.Pending("POST /devices (Register Device)", Devices);
        walk.Pending("GET /devices (List Devices)", Devices);
        walk.Pending("DELETE /devices/{deviceId} (Revoke Device)", Devices);

        // Session Management.
        walk.Pending("POST /sessions (Create Session)", Devices);
        walk.Pending("POST /sessions/{sessionId}/validate (Validate Session)", Devices);
        walk.Pending("DELETE /sessions/{sessionId} (End Session)", Devices);

        // Webhooks: the catalog of events, and endpoints set up with the organization's own key (a flat route).
        await walk.BuiltAsync("GET /webhook-events (Webhook Events)", async () =>
        {
            var events = await client.GetAsync("/api/v1/webhook-events");
            events.ShouldBeEnvelope(200);
            events.Data.GetArrayLength().ShouldBeGreaterThan(0);
        });
        await walk.BuiltAsync("POST /webhooks (Webhook Configuration)", async () =>
        {
            var created = await client.PostAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/relock", events = new[] { "api_key.created" } });
            created.ShouldBeEnvelope(201);
            created.Str("orgId").ShouldBe(orgId);
            created.Str("secret").ShouldStartWith("whsec_");
        });

        await walk.CheckAsync("check the envelope's meta carries the request id and time", async () =>
            (await client.GetAsync("/api/v1/webhooks")).ShouldBeEnvelope(200));
        await walk.CheckAsync("check rate-limit headers on an authenticated answer", async () =>
        {
            var answer = await client.GetAsync("/api/v1/webhooks");
            answer.Header("X-RateLimit-Limit").ShouldNotBeNullOrEmpty();
            answer.Header("X-RateLimit-Remaining").ShouldNotBeNullOrEmpty();
        });
        await walk.CheckAsync("check INVALID_API_KEY for an unknown key", async () =>
            (await _server.CreateClient("gk_" + new string('1', 40)).GetAsync("/api/v1/webhooks")).ShouldBeError(401, "INVALID_API_KEY"));
        await walk.CheckAsync("check AUTHENTICATION_FAILED without a key", async () =>
            (await _server.Anonymous.GetAsync("/api/v1/webhooks")).ShouldBeError(401, "AUTHENTICATION_FAILED"));
        await walk.CheckAsync("check INVALID_REQUEST for a malformed body", async () =>
            (await client.SendRawAsync(HttpMethod.Post, "/api/v1/webhooks", "{\"url\":")).ShouldBeError(400, "INVALID_REQUEST"));
        await walk.CheckAsync("check another organization named in X-Tenant-Id is 404", async () =>
        {
            var other = await _server.CreateOrgAsync("Seed 000 other");
            (await client.GetAsync("/api/v1/webhooks", new Dictionary<string, string> { ["X-Tenant-Id"] = other })).ShouldBeError(404, "NOT_FOUND");
        });
        walk.Finish(DocumentedEndpoints);
    }
}
