using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 000 (Relock "API Overview"): device verification (the auth URL, the hosted page's part played
/// by a test key, verify, refresh), devices and device-bound sessions, webhooks, and what the document
/// says of every route — Bearer API keys, the envelope, its error codes, rate-limit headers.
/// </summary>
public sealed class Seed000RelockTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 11;
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_endpoint_of_seed_000_answers_as_the_document_shows_or_is_pending()
    {
        var walk = new SeedWalk("000");
        var orgId = await _server.CreateOrgAsync("Seed 000");
        var (_, apiKey) = await _server.CreateKeyAsync(orgId, new { name = "relock backend", permissions = new[] { "webhooks:*", "api_keys:read" } });
        var client = _server.CreateClient(apiKey);

        // The app's setup: one device app (Relock's gateway) with its callback.
        var gatewayUuid = await Devices.DeviceSteps.CreateAppAsync(_server, orgId);
        var backend = await Devices.DeviceSteps.DeviceClientAsync(_server, orgId);
        using var browser = new Devices.TestDevice();
        string? token = null;
        string? refreshToken = null;
        string? sessionId = null;

        // Authentication.
        await walk.BuiltAsync("POST /device-auth/url (Generate Auth URL)", async () =>
        {
            var url = await backend.PostAsync("/api/v1/device-auth/url", new { gatewayUuid, userId = "user123", sessionId = "session456", redirectUrl = Devices.DeviceSteps.Callback });
            url.ShouldBeEnvelope(200);
            url.Str("url").ShouldContain("/device/auth?request=");
            (token, _) = await Devices.DeviceSteps.PassPageAsync(_server, url.Str("requestId"), browser);
            (await backend.PostAsync("/api/v1/device-auth/url", new { gatewayUuid = "dap_unknown", userId = "user123", sessionId = "s", redirectUrl = Devices.DeviceSteps.Callback }))
                .ShouldBeError(404, "GATEWAY_NOT_FOUND");
        });
        await walk.BuiltAsync("POST /device-auth/verify (Verify Token)", async () =>
        {
            var verified = await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "user123" });
            verified.ShouldBeEnvelope(200);
            verified.Data.GetProperty("verified").GetBoolean().ShouldBeTrue();
            refreshToken = verified.Str("refreshToken");
            (await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "user123" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        });
        await walk.BuiltAsync("POST /device-auth/refresh (Refresh Token)", async () =>
        {
            var refreshed = await backend.PostAsync("/api/v1/device-auth/refresh", new { refreshToken });
            refreshed.ShouldBeEnvelope(200);
            refreshed.Str("refreshToken").ShouldNotBe(refreshToken);
        });

        // Device Management (flat routes: the organization is the key's own).
        string? deviceId = null;
        await walk.BuiltAsync("POST /devices (Register Device)", async () =>
        {
            using var key = new Devices.TestDevice();
            var registered = await backend.PostAsync("/api/v1/devices", new { userId = "user123", gatewayUuid, publicKeyJwk = key.PublicJwk });
            registered.ShouldBeEnvelope(201);
            deviceId = registered.Str("id");
        });
        await walk.BuiltAsync("GET /devices (List Devices)", async () =>
        {
            var devices = await backend.GetAsync("/api/v1/devices?userId=user123");
            devices.ShouldBeEnvelope(200);
            devices.Data.GetArrayLength().ShouldBe(2);
        });

        // Session Management.
        await walk.BuiltAsync("POST /sessions (Create Session)", async () =>
        {
            var created = await backend.PostAsync("/api/v1/sessions", new { userId = "user123", deviceId = browser.DeviceId, externalSessionId = "session456" });
            created.ShouldBeEnvelope(201);
            sessionId = created.Str("id");
        });
        await walk.BuiltAsync("POST /sessions/{sessionId}/validate (Validate Session)", async () =>
        {
            var valid = await backend.PostAsync($"/api/v1/sessions/{sessionId}/validate", new { proof = await Devices.DeviceSteps.ProofAsync(_server, sessionId!, browser) });
            valid.ShouldBeEnvelope(200);
            valid.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(valid.Text);
        });
        await walk.BuiltAsync("DELETE /sessions/{sessionId} (End Session)", async () =>
        {
            var ended = await backend.DeleteAsync($"/api/v1/sessions/{sessionId}");
            ended.ShouldBeEnvelope(200);
            ended.Str("status").ShouldBe("ended");
        });
        await walk.BuiltAsync("DELETE /devices/{deviceId} (Revoke Device)", async () =>
        {
            var revoked = await backend.DeleteAsync($"/api/v1/devices/{deviceId}");
            revoked.ShouldBeEnvelope(200);
            revoked.Str("status").ShouldBe("revoked");
        });

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
