using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// The content tools route by route over HTTP: storage configurations, tags, the address book,
/// consent erasure and chain verification, customization, error reports and service status. Each
/// route's success, each of its error codes, and another organization's resource answering 404
/// with nothing changed.
/// </summary>
public sealed class ContentToolRouteTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Storage_configurations_create_list_get_update_test_and_delete_with_every_error()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("storage:read", "storage:write", "containers:write", "credentials:write");
        var org = $"/api/v1/orgs/{orgId}/storage-configs";

        var created = await admin.PostAsync(org, new { name = "archive", provider = "local", bucket = "archive" });
        created.StatusCode.ShouldBe(201, created.Text);
        var id = created.Str("id");
        created.Data.GetProperty("pathStyle").GetBoolean().ShouldBeFalse();
        (await admin.GetAsync(org)).Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync($"{org}/{id}")).Str("name").ShouldBe("archive");
        (await admin.PatchAsync($"{org}/{id}", new { name = "archive-2" })).Str("name").ShouldBe("archive-2");
        (await admin.PostAsync($"{org}/{id}/test")).Data.GetProperty("ok").GetBoolean().ShouldBeTrue();

        // 422: a missing or unknown provider, a bad folder, a bad endpoint, a bad prefix, the fields each remote provider needs, an unknown credential.
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x" }), "provider");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "ftp" }), "provider");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "local", bucket = "../up" }), "bucket");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "custom", endpoint = "ftp://store" }), "endpoint");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "custom", endpoint = "https://store.example", prefix = "a/../b" }), "prefix");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "local", prefix = "p" }), "prefix");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "s3" }), "bucket", "credentialId");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "azure", bucket = "c" }), "endpoint", "credentialId");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "custom" }), "endpoint");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "s3", bucket = "b", credentialId = "cred_unknown" }), "credentialId");
        // Another organization's credential is as unknown as a made-up one.
        var foreignCredential = await _server.Root.PostAsync($"/api/v1/orgs/{other}/credentials", new { integrationId = "s3", name = "theirs", authType = "custom", data = new { accessKeyId = "a", secretAccessKey = "b" } });
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", provider = "s3", bucket = "b", credentialId = foreignCredential.Str("id") }), "credentialId");
        await ShouldBeInvalidAsync(admin.PatchAsync($"{org}/{id}", new { credentialId = foreignCredential.Str("id") }), "credentialId");

        // 409: a duplicate name; a configuration in use cannot be deleted; one holding files keeps its location.
        (await admin.PostAsync(org, new { name = "archive-2", provider = "local" })).StatusCode.ShouldBe(409);
        var container = await admin.PostAsync($"/api/v1/orgs/{orgId}/containers", new { name = "uses it", storageConfigId = id });
        container.StatusCode.ShouldBe(201, container.Text);
        (await admin.DeleteAsync($"{org}/{id}")).StatusCode.ShouldBe(409);
        (await admin.UploadAsync(orgId, container.Str("id"), [1, 2, 3])).StatusCode.ShouldBe(201);
        (await admin.PatchAsync($"{org}/{id}", new { bucket = "elsewhere" })).StatusCode.ShouldBe(409);

        // 404: unknown ids, and another organization's configuration through either path.
        var theirs = await _server.Root.PostAsync($"/api/v1/orgs/{other}/storage-configs", new { name = "theirs", provider = "local" });
        foreach (var path in new[] { $"{org}/stc_unknown", $"{org}/{theirs.Str("id")}", $"/api/v1/orgs/{other}/storage-configs/{theirs.Str("id")}" })
        {
            (await admin.GetAsync(path)).StatusCode.ShouldBe(404, path);
            (await admin.PatchAsync(path, new { name = "taken over" })).StatusCode.ShouldBe(404, path);
            (await admin.PostAsync(path + "/test")).StatusCode.ShouldBe(404, path);
            (await admin.DeleteAsync(path)).StatusCode.ShouldBe(404, path);
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/storage-configs/{theirs.Str("id")}")).Str("name").ShouldBe("theirs");

        // 200 for a delete once nothing uses it.
        var spare = await admin.PostAsync(org, new { name = "spare", provider = "custom", endpoint = "https://store.example/objects" });
        spare.StatusCode.ShouldBe(201, spare.Text);
        (await admin.DeleteAsync($"{org}/{spare.Str("id")}")).StatusCode.ShouldBe(200);
        (await admin.GetAsync($"{org}/{spare.Str("id")}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Tags_create_list_get_replace_and_delete_with_every_error()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("tags:read", "tags:write");
        var org = $"/api/v1/orgs/{orgId}/tags";

        var created = await admin.PostAsync(org, new { name = "board", color = "#EAF4FC" });
        created.StatusCode.ShouldBe(201, created.Text);
        var id = created.Str("id");
        (await admin.GetAsync(org)).Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync($"{org}/{id}")).Str("color").ShouldBe("#EAF4FC");
        (await admin.PutAsync($"{org}/{id}", new { name = "board-2", color = "#000000" })).Str("name").ShouldBe("board-2");

        await ShouldBeInvalidAsync(admin.PostAsync(org, new { color = "#000000" }), "name");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "x", color = "red" }), "color");
        await ShouldBeInvalidAsync(admin.PutAsync($"{org}/{id}", new { name = "" }), "name");
        (await admin.PostAsync(org, new { name = "legal" })).StatusCode.ShouldBe(201);
        (await admin.PostAsync(org, new { name = "legal" })).StatusCode.ShouldBe(409);
        (await admin.PutAsync($"{org}/{id}", new { name = "legal" })).StatusCode.ShouldBe(409);

        var theirs = await _server.Root.PostAsync($"/api/v1/orgs/{other}/tags", new { name = "theirs" });
        foreach (var path in new[] { $"{org}/tag_unknown", $"{org}/{theirs.Str("id")}", $"/api/v1/orgs/{other}/tags/{theirs.Str("id")}" })
        {
            (await admin.GetAsync(path)).StatusCode.ShouldBe(404, path);
            (await admin.PutAsync(path, new { name = "taken over" })).StatusCode.ShouldBe(404, path);
            (await admin.DeleteAsync(path)).StatusCode.ShouldBe(404, path);
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/tags/{theirs.Str("id")}")).Str("name").ShouldBe("theirs");
        (await admin.DeleteAsync($"{org}/{id}")).StatusCode.ShouldBe(200);
        (await admin.GetAsync($"{org}/{id}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task The_address_book_creates_lists_gets_replaces_and_deletes_with_every_error()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("address_book:read", "address_book:write");
        var org = $"/api/v1/orgs/{orgId}/address-book";

        var created = await admin.PostAsync(org, new { email = "Ada@Example.org", name = "Ada", company = "Engines", tags = new[] { "vip" } });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("email").ShouldBe("ada@example.org");
        var id = created.Str("id");
        (await admin.GetAsync(org)).Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync($"{org}/{id}")).Str("company").ShouldBe("Engines");
        (await admin.PutAsync($"{org}/{id}", new { email = "ada@example.org", name = "Ada L." })).Str("name").ShouldBe("Ada L.");

        await ShouldBeInvalidAsync(admin.PostAsync(org, new { name = "No mail" }), "email");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { email = "not-an-address", name = "x" }), "email");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { email = "b@example.org" }), "name");
        await ShouldBeInvalidAsync(admin.PutAsync($"{org}/{id}", new { email = "ada@example.org" }), "name");
        (await admin.PostAsync(org, new { email = "ADA@example.org", name = "Twin" })).StatusCode.ShouldBe(409);
        (await admin.PostAsync(org, new { email = "bob@example.org", name = "Bob" })).StatusCode.ShouldBe(201);
        (await admin.PutAsync($"{org}/{id}", new { email = "bob@example.org", name = "Ada" })).StatusCode.ShouldBe(409);

        var theirs = await _server.Root.PostAsync($"/api/v1/orgs/{other}/address-book", new { email = "theirs@example.org", name = "Theirs" });
        foreach (var path in new[] { $"{org}/ct_unknown", $"{org}/{theirs.Str("id")}", $"/api/v1/orgs/{other}/address-book/{theirs.Str("id")}" })
        {
            (await admin.GetAsync(path)).StatusCode.ShouldBe(404, path);
            (await admin.PutAsync(path, new { email = "taken@example.org", name = "Taken" })).StatusCode.ShouldBe(404, path);
            (await admin.DeleteAsync(path)).StatusCode.ShouldBe(404, path);
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/address-book/{theirs.Str("id")}")).Str("name").ShouldBe("Theirs");
        (await admin.DeleteAsync($"{org}/{id}")).StatusCode.ShouldBe(200);
        (await admin.GetAsync($"{org}/{id}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Erasing_a_consent_subject_keeps_the_chain_verifiable_and_touches_no_other_organization()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("consents:read", "consents:write");
        var org = $"/api/v1/orgs/{orgId}/consents";
        foreach (var granted in new[] { true, false })
        {
            (await admin.PostAsync(org, new { subject = "erase@example.org", purpose = "marketing", policyVersion = "1", granted })).StatusCode.ShouldBe(201);
        }

        (await admin.PostAsync(org, new { subject = "keep@example.org", purpose = "marketing", policyVersion = "1", granted = true })).StatusCode.ShouldBe(201);
        (await _server.Root.PostAsync($"/api/v1/orgs/{other}/consents", new { subject = "erase@example.org", purpose = "marketing", policyVersion = "1", granted = true })).StatusCode.ShouldBe(201);

        var erased = await admin.PostAsync($"{org}/erase", new { subject = "erase@example.org" });
        erased.StatusCode.ShouldBe(200, erased.Text);
        erased.Data.GetProperty("erased").GetInt64().ShouldBe(2);
        (await admin.PostAsync($"{org}/erase", new { subject = "erase@example.org" })).Data.GetProperty("erased").GetInt64().ShouldBe(0);
        var verified = await admin.GetAsync($"{org}/verify");
        verified.StatusCode.ShouldBe(200, verified.Text);
        verified.Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
        verified.Data.GetProperty("records").GetInt64().ShouldBe(3);
        (await admin.GetAsync(org)).Text.ShouldNotContain("erase@example.org");
        (await admin.GetAsync(org)).Text.ShouldContain("keep@example.org");

        await ShouldBeInvalidAsync(admin.PostAsync($"{org}/erase", new { }), "subject");
        await ShouldBeInvalidAsync(admin.PostAsync(org, new { subject = "x@example.org", purpose = "marketing", policyVersion = "1" }), "granted");
        await ShouldBeInvalidAsync(admin.GetAsync($"{org}/status"), "subject");

        // Another organization: 404 for every route, and its records keep the person.
        (await admin.PostAsync($"/api/v1/orgs/{other}/consents/erase", new { subject = "erase@example.org" })).StatusCode.ShouldBe(404);
        (await admin.GetAsync($"/api/v1/orgs/{other}/consents/verify")).StatusCode.ShouldBe(404);
        (await admin.GetAsync($"/api/v1/orgs/{other}/consents/status?subject=erase@example.org")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/consents")).Text.ShouldContain("erase@example.org");
        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/consents/verify")).Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task Customization_is_read_and_replaced_with_every_error()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("orgs:read", "orgs:write");
        var path = $"/api/v1/orgs/{orgId}/customization";

        var empty = await admin.GetAsync(path);
        empty.StatusCode.ShouldBe(200, empty.Text);
        var put = await admin.PutAsync(path, new { logoUrl = "https://example.org/logo.png", colors = new { primary = "#2B5592" }, emailFrom = "share@example.org", viewerTexts = new { title = "Board pack" } });
        put.StatusCode.ShouldBe(200, put.Text);
        (await admin.GetAsync(path)).Data.GetProperty("viewerTexts").GetProperty("title").GetString().ShouldBe("Board pack");

        await ShouldBeInvalidAsync(admin.PutAsync(path, new { logoUrl = "http://example.org/logo.png" }), "logoUrl");
        await ShouldBeInvalidAsync(admin.PutAsync(path, new { emailFrom = "nobody" }), "emailFrom");
        (await admin.GetAsync(path)).Str("logoUrl").ShouldBe("https://example.org/logo.png");

        (await _server.Root.PutAsync($"/api/v1/orgs/{other}/customization", new { logoUrl = "https://other.example/logo.png" })).StatusCode.ShouldBe(200);
        (await admin.GetAsync($"/api/v1/orgs/{other}/customization")).StatusCode.ShouldBe(404);
        (await admin.PutAsync($"/api/v1/orgs/{other}/customization", new { logoUrl = "https://taken.example/logo.png" })).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/customization")).Str("logoUrl").ShouldBe("https://other.example/logo.png");
    }

    [Fact]
    public async Task Error_reports_are_stored_and_listed_with_filters_and_every_error()
    {
        var (orgId, admin, other) = await TwoOrgsAsync("errors:read", "errors:write");
        var path = $"/api/v1/orgs/{orgId}/errors";

        var reported = await admin.PostAsync(path, new { code = "viewer_crash", message = "The viewer stopped.", source = "web-viewer", details = new { page = 3 } });
        reported.StatusCode.ShouldBe(201, reported.Text);
        (await admin.PostAsync(path, new { code = "slow", message = "Slow." })).StatusCode.ShouldBe(201);
        (await admin.GetAsync(path)).Data.GetArrayLength().ShouldBe(2);
        var filtered = await admin.GetAsync($"{path}?code=viewer_crash&source=web-viewer");
        filtered.Data.GetArrayLength().ShouldBe(1);
        filtered.Data[0].GetProperty("details").GetProperty("page").GetInt32().ShouldBe(3);

        await ShouldBeInvalidAsync(admin.PostAsync(path, new { message = "no code" }), "code");
        await ShouldBeInvalidAsync(admin.PostAsync(path, new { code = "no_message" }), "message");
        await ShouldBeInvalidAsync(admin.PostAsync(path, new { code = new string('c', 101), message = "long" }), "code");
        (await admin.GetAsync($"{path}?limit=0")).StatusCode.ShouldBe(400);

        var reader = await _server.OrgClientAsync(orgId, "errors:read");
        (await reader.PostAsync(path, new { code = "x", message = "y" })).StatusCode.ShouldBe(403);
        (await _server.Anonymous.PostAsync(path, new { code = "x", message = "y" })).StatusCode.ShouldBe(401);

        (await _server.Root.PostAsync($"/api/v1/orgs/{other}/errors", new { code = "theirs", message = "Theirs." })).StatusCode.ShouldBe(201);
        (await admin.GetAsync($"/api/v1/orgs/{other}/errors")).StatusCode.ShouldBe(404);
        (await admin.PostAsync($"/api/v1/orgs/{other}/errors", new { code = "planted", message = "Planted." })).StatusCode.ShouldBe(404);
        var theirs = await _server.Root.GetAsync($"/api/v1/orgs/{other}/errors");
        theirs.Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync(path)).Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task Service_status_needs_no_credential_and_names_no_tenant()
    {
        var orgId = await _server.CreateOrgAsync("Status Tenant");

        var status = await _server.Anonymous.GetAsync("/api/v1/status");

        status.StatusCode.ShouldBe(200, status.Text);
        var services = status.Data.GetProperty("services");
        services.GetProperty("database").GetString().ShouldBe("healthy");
        services.EnumerateObject().ShouldAllBe(s => s.Value.ValueKind == System.Text.Json.JsonValueKind.String);
        status.Text.ShouldNotContain(orgId);
        status.Text.ShouldNotContain("Status Tenant");
        (await _server.Anonymous.PostAsync("/api/v1/status", new { })).StatusCode.ShouldBe(405);
    }

    private async Task<(string OrgId, ApiClient Admin, string Other)> TwoOrgsAsync(params string[] permissions)
    {
        var orgId = await _server.CreateOrgAsync();
        var other = await _server.CreateOrgAsync();
        return (orgId, await _server.OrgClientAsync(orgId, permissions), other);
    }

    private static async Task ShouldBeInvalidAsync(Task<ApiResponse> call, params string[] fields)
    {
        var response = await call;
        response.StatusCode.ShouldBe(422, response.Text);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED", response.Text);
        foreach (var field in fields)
        {
            response.Text.ShouldContain($"\"{field}", Case.Sensitive, response.Text);
        }
    }
}
