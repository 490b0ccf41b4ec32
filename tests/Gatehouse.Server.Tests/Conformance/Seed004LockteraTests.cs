using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Content;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 004 (Locktera "API Documentation", base URL <c>/v1</c>): its guides in the document's order.
/// API key management is seed 003. The document names its guides but not their paths: the content
/// guides are walked at Gatehouse's own routes (API.md §11); organizations at the document's <c>/v1/orgs</c>.
/// </summary>
public sealed class Seed004LockteraTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 11;
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_guide_of_seed_004_answers_as_the_document_shows_or_is_pending()
    {
        var walk = new SeedWalk("004");
        var orgId = await _server.CreateOrgAsync("Seed 004");
        var admin = await _server.OrgClientAsync(orgId, "*");

        var org = $"/api/v1/orgs/{orgId}";
        await walk.BuiltAsync("Address Book Management (POST/GET /api/v1/orgs/{orgId}/address-book)", async () =>
        {
            (await admin.PostAsync($"{org}/address-book", new { email = "walk@example.org", name = "Walker", company = "Seed" })).StatusCode.ShouldBe(201);
            (await admin.GetAsync($"{org}/address-book")).Data.GetArrayLength().ShouldBe(1);
        });
        await walk.BuiltAsync("API Key Management (GET /v1/orgs/{org_id}/api_keys)", async () =>
        {
            var list = await admin.GetAsync($"/v1/orgs/{orgId}/api_keys");
            list.StatusCode.ShouldBe(200, list.Text);
            list.Body.GetArrayLength().ShouldBe(1);
        });
        await walk.BuiltAsync("Consent Management (POST /api/v1/orgs/{orgId}/consents, GET …/status)", async () =>
        {
            (await admin.PostAsync($"{org}/consents", new { subject = "walk@example.org", purpose = "marketing", policyVersion = "1", granted = true })).StatusCode.ShouldBe(201);
            (await admin.GetAsync($"{org}/consents/status?subject=walk@example.org")).Data.GetProperty("purposes")[0].GetProperty("granted").GetBoolean().ShouldBeTrue();
        });
        string containerId = "";
        await walk.BuiltAsync("Container Management (POST /api/v1/orgs/{orgId}/containers, files, shares)", async () =>
        {
            var container = await admin.PostAsync($"{org}/containers", new { name = "Walk" });
            container.StatusCode.ShouldBe(201, container.Text);
            containerId = container.Str("id");
            (await admin.UploadAsync(orgId, containerId, [1, 2, 3])).StatusCode.ShouldBe(201);
            (await admin.PostAsync($"{org}/containers/{containerId}/shares", new { recipients = new[] { "walk@example.org" } })).StatusCode.ShouldBe(201);
        });
        await walk.BuiltAsync("Customization Management (PUT/GET /api/v1/orgs/{orgId}/customization)", async () =>
        {
            (await admin.PutAsync($"{org}/customization", new { logoUrl = "https://example.org/logo.png", colors = new { primary = "#2B5592" } })).StatusCode.ShouldBe(200);
            (await admin.GetAsync($"{org}/customization")).Str("logoUrl").ShouldBe("https://example.org/logo.png");
        });
        await walk.BuiltAsync("DRM Storage Configuration (storage-configs with /test, drm-rules)", async () =>
        {
            var storage = await admin.PostAsync($"{org}/storage-configs", new { name = "walk", provider = "local", bucket = "walk" });
            storage.StatusCode.ShouldBe(201, storage.Text);
            (await admin.PostAsync($"{org}/storage-configs/{storage.Str("id")}/test")).Data.GetProperty("ok").GetBoolean().ShouldBeTrue();
            (await admin.PostAsync($"{org}/drm-rules", new { name = "walk", maxOpens = 3 })).StatusCode.ShouldBe(201);
        });
        await walk.BuiltAsync("Error Management (POST/GET /api/v1/orgs/{orgId}/errors)", async () =>
        {
            (await admin.PostAsync($"{org}/errors", new { code = "viewer_crash", message = "The viewer stopped." })).StatusCode.ShouldBe(201);
            (await admin.GetAsync($"{org}/errors?code=viewer_crash")).Data.GetArrayLength().ShouldBe(1);
        });
        await walk.BuiltAsync("Events Management (GET /api/v1/orgs/{orgId}/events?page=&limit=&start=&end=)", async () =>
        {
            var events = await admin.GetAsync($"{org}/events?page=1&limit=10&start=2020-01-01T00:00:00Z&end=2100-01-01T00:00:00Z");
            events.StatusCode.ShouldBe(200, events.Text);
            events.Data.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ShouldContain("container.shared");
        });
        await walk.BuiltAsync("Organization Management (GET/PATCH /v1/orgs[/{org_id}])", async () =>
        {
            var list = await admin.GetAsync("/v1/orgs");
            list.StatusCode.ShouldBe(200, list.Text);
            list.Body.EnumerateArray().Select(o => o.GetProperty("id").GetString()).ShouldBe([orgId]);
            var renamed = await admin.PatchAsync($"/v1/orgs/{orgId}", new { name = "Seed 004 renamed" });
            renamed.StatusCode.ShouldBe(200, renamed.Text);
            renamed.Body.GetProperty("name").GetString().ShouldBe("Seed 004 renamed");
            var got = await admin.GetAsync($"/v1/orgs/{orgId}");
            got.Body.GetProperty("name").GetString().ShouldBe("Seed 004 renamed");
            got.Body.TryGetProperty("created_at", out _).ShouldBeTrue(got.Text);
        });
        await walk.BuiltAsync("Tag Management (POST/GET /api/v1/orgs/{orgId}/tags)", async () =>
        {
            (await admin.PostAsync($"{org}/tags", new { name = "board", color = "#EAF4FC" })).StatusCode.ShouldBe(201);
            (await admin.GetAsync($"{org}/tags")).Data.GetArrayLength().ShouldBe(1);
        });
        await walk.BuiltAsync("Service Status (GET /api/v1/status, no credential)", async () =>
        {
            var status = await _server.Anonymous.GetAsync("/api/v1/status");
            status.StatusCode.ShouldBe(200, status.Text);
            status.Data.GetProperty("services").GetProperty("database").GetString().ShouldBe("healthy");
        });

        await walk.CheckAsync("check 401 for a missing API key, with an error message and code", async () =>
        {
            var anonymous = await _server.Anonymous.GetAsync($"/v1/orgs/{orgId}/api_keys");
            anonymous.StatusCode.ShouldBe(401, anonymous.Text);
            anonymous.ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
            anonymous.Body.GetProperty("error").GetProperty("message").GetString().ShouldNotBeNullOrEmpty();
        });
        await walk.CheckAsync("check page and limit paginate", async () =>
        {
            await _server.CreateKeyAsync(orgId, new { name = "second", permissions = new[] { "read" } });
            var page = await admin.GetAsync($"/v1/orgs/{orgId}/api_keys?page=2&limit=1");
            page.StatusCode.ShouldBe(200, page.Text);
            page.Body.GetArrayLength().ShouldBe(1);
        });
        await walk.CheckAsync("check rate-limit headers", async () =>
            (await admin.GetAsync($"/v1/orgs/{orgId}/api_keys")).Header("X-RateLimit-Limit").ShouldNotBeNullOrEmpty());
        walk.Finish(DocumentedEndpoints);
    }
}
