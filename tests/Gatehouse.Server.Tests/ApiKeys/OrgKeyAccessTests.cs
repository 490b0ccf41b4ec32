namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>An organization's key calls the API for its own organization only; root manages everything.</summary>
public sealed class OrgKeyAccessTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task An_org_key_reads_and_updates_its_own_org()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "orgs:read", "orgs:write");

        (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/stats")).StatusCode.ShouldBe(200);
        var updated = await client.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "Renamed by key" });
        updated.StatusCode.ShouldBe(200, updated.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Str("name").ShouldBe("Renamed by key");
    }

    [Fact]
    public async Task An_org_key_on_another_orgs_ids_gets_404_and_nothing_changes()
    {
        var orgA = await _server.CreateOrgAsync("Org A");
        var orgB = await _server.CreateOrgAsync("Org B");
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgB}/roles", new { name = "b-role", permissions = new[] { "x" } });
        var roleId = role.Str("id");
        var keyA = await _server.OrgClientAsync(orgA, "*");

        var responses = new[]
        {
            await keyA.GetAsync($"/api/v1/orgs/{orgB}"),
            await keyA.PatchAsync($"/api/v1/orgs/{orgB}", new { name = "stolen" }),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/stats"),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/roles"),
            await keyA.PostAsync($"/api/v1/orgs/{orgB}/roles", new { name = "planted", permissions = new[] { "x" } }),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/roles/{roleId}"),
            await keyA.PatchAsync($"/api/v1/orgs/{orgB}/roles/{roleId}", new { name = "stolen" }),
            await keyA.DeleteAsync($"/api/v1/orgs/{orgB}/roles/{roleId}"),
            await keyA.GetAsync($"/api/v1/orgs/{orgA}/roles/{roleId}"),
            await keyA.PatchAsync($"/api/v1/orgs/{orgA}/roles/{roleId}", new { name = "stolen" }),
            await keyA.DeleteAsync($"/api/v1/orgs/{orgA}/roles/{roleId}"),
            await keyA.DeleteAsync($"/api/v1/orgs/{orgB}"),
        };

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(404, response.Text);
            response.ErrorCode.ShouldBe("NOT_FOUND");
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}")).Str("name").ShouldBe("Org B");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/roles/{roleId}")).Str("name").ShouldBe("b-role");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/roles")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Listing_orgs_with_an_org_key_shows_only_its_own()
    {
        var orgA = await _server.CreateOrgAsync();
        await _server.CreateOrgAsync();
        var keyA = await _server.OrgClientAsync(orgA, "orgs:read");

        var list = await keyA.GetAsync("/api/v1/orgs");

        list.StatusCode.ShouldBe(200);
        list.Data.GetArrayLength().ShouldBe(1);
        list.Data[0].GetProperty("id").GetString().ShouldBe(orgA);
    }

    [Fact]
    public async Task A_missing_permission_is_403_naming_the_required_one()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "orgs:read");

        var patch = await client.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "nope" });
        var roles = await client.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = new[] { "x" } });

        patch.StatusCode.ShouldBe(403);
        patch.ErrorCode.ShouldBe("FORBIDDEN");
        patch.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("orgs:write");
        roles.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("roles:write");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task The_read_shorthand_grants_every_platform_read_and_no_write()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "read");

        (await client.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/roles")).StatusCode.ShouldBe(200);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);
        (await client.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "x" })).StatusCode.ShouldBe(403);
        (await client.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "x", permissions = Array.Empty<string>() })).StatusCode.ShouldBe(403);
    }

    [Fact]
    public async Task A_role_grants_its_permissions_to_an_org_key()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "key-admin", permissions = new[] { "api_keys:*" } });
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), roles = new[] { "key-admin" } });

        (await _server.CreateClient(key).GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Creating_an_org_with_an_org_key_is_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "*");

        var response = await client.PostAsync("/api/v1/orgs", new { name = "Sneaky" });

        response.StatusCode.ShouldBe(403);
        response.ErrorCode.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task Disabled_expired_and_unknown_keys_are_401_INVALID_API_KEY()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, disabled) = await _server.CreateKeyAsync(orgId, new { name = "d", permissions = new[] { "read" }, enabled = false });

        var responses = new[]
        {
            await _server.CreateClient(disabled).GetAsync($"/api/v1/orgs/{orgId}"),
            await _server.CreateClient(Gatehouse.Crypto.ApiKeyFormat.Generate("gk")).GetAsync($"/api/v1/orgs/{orgId}"),
            await _server.CreateClient("gk_garbage").GetAsync($"/api/v1/orgs/{orgId}"),
        };

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(401);
            response.ErrorCode.ShouldBe("INVALID_API_KEY");
            response.Header("WWW-Authenticate").ShouldNotBeNull();
        }
    }

    [Fact]
    public async Task A_key_with_an_ip_allowlist_calls_the_api_only_from_inside_it()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, inside) = await _server.CreateKeyAsync(orgId, new { name = "in", permissions = new[] { "read" }, ipAllowlist = new[] { "127.0.0.0/8", "::1" } });
        var (_, outside) = await _server.CreateKeyAsync(orgId, new { name = "out", permissions = new[] { "read" }, ipAllowlist = new[] { "203.0.113.0/24" } });

        (await _server.CreateClient(inside).GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        var rejected = await _server.CreateClient(outside).GetAsync($"/api/v1/orgs/{orgId}");
        rejected.StatusCode.ShouldBe(401);
        rejected.ErrorCode.ShouldBe("INVALID_API_KEY");
    }

    [Fact]
    public async Task The_X_API_Key_header_works_too()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "orgs:read" } });

        var response = await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}", new Dictionary<string, string> { ["X-API-Key"] = key });

        response.StatusCode.ShouldBe(200);
    }
}
