using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 004 (Locktera "API Documentation", base URL <c>/v1</c>): its guides in the document's order.
/// API key management is seed 003 and is built; containers, DRM, storage, address book, consents,
/// customization, errors, events, organizations at <c>/v1/orgs</c>, tags and service status are
/// built by the protected content work (API.md §11) and are pending here.
/// </summary>
public sealed class Seed004LockteraTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 11;
    private const string Content = "protected content";
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_guide_of_seed_004_answers_as_the_document_shows_or_is_pending()
    {
        var walk = new SeedWalk("004");
        var orgId = await _server.CreateOrgAsync("Seed 004");
        var admin = await _server.OrgClientAsync(orgId, "*");

        walk.Pending("Address Book Management", Content);
        await walk.BuiltAsync("API Key Management (GET /v1/orgs/{org_id}/api_keys)", async () =>
        {
            var list = await admin.GetAsync($"/v1/orgs/{orgId}/api_keys");
            list.StatusCode.ShouldBe(200, list.Text);
            list.Body.GetArrayLength().ShouldBe(1);
        });
        walk.Pending("Consent Management", Content);
        walk.Pending("Container Management", Content);
        walk.Pending("Customization Management", Content);
        walk.Pending("DRM Storage Configuration", Content);
        walk.Pending("Error Management", Content);
        walk.Pending("Events Management", Content);
        walk.Pending("Organization Management (/v1/orgs)", Content);
        walk.Pending("Tag Management", Content);
        walk.Pending("Service Status", Content);

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
