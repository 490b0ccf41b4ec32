namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class ListApiKeysTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task The_list_filters_by_owner_enabled_and_name_and_pages()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.CreateKeyAsync(orgId, new { name = "alpha one", permissions = Array.Empty<string>(), ownerId = "u1" });
        await _server.CreateKeyAsync(orgId, new { name = "beta", permissions = Array.Empty<string>(), ownerId = "u1", enabled = false });
        await _server.CreateKeyAsync(orgId, new { name = "alpha two", permissions = Array.Empty<string>(), ownerId = "u2" });
        var (revokedId, _) = await _server.CreateKeyAsync(orgId, new { name = "alpha gone", permissions = Array.Empty<string>() });
        await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}");
        var path = $"/api/v1/orgs/{orgId}/api-keys";

        var all = await _server.Root.GetAsync(path);
        all.Data.GetArrayLength().ShouldBe(3);
        all.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(3);
        all.Data[0].GetProperty("name").GetString().ShouldBe("alpha two");
        (await _server.Root.GetAsync(path + "?ownerId=u1")).Data.GetArrayLength().ShouldBe(2);
        (await _server.Root.GetAsync(path + "?enabled=false")).Data[0].GetProperty("name").GetString().ShouldBe("beta");
        (await _server.Root.GetAsync(path + "?q=alpha")).Data.GetArrayLength().ShouldBe(2);
        (await _server.Root.GetAsync(path + "?q=alpha&includeRevoked=true")).Data.GetArrayLength().ShouldBe(3);
        var page = await _server.Root.GetAsync(path + "?limit=2&page=2");
        page.Data.GetArrayLength().ShouldBe(1);
        page.Body.GetProperty("meta").GetProperty("pagination").GetProperty("hasMore").GetBoolean().ShouldBeFalse();
        foreach (var item in all.Data.EnumerateArray())
        {
            item.TryGetProperty("key", out _).ShouldBeFalse();
            item.TryGetProperty("hash", out _).ShouldBeFalse();
        }
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=201")]
    [InlineData("?enabled=maybe")]
    [InlineData("?sort=name")]
    [InlineData("?includeRevoked=2")]
    public async Task A_bad_query_parameter_is_400(string query)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys{query}");

        response.StatusCode.ShouldBe(400);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task Without_api_keys_read_it_is_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "api_keys:verify");

        var response = await client.GetAsync($"/api/v1/orgs/{orgId}/api-keys");

        response.StatusCode.ShouldBe(403);
        response.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:read");
    }
}

public sealed class GetApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_key_is_read_by_id_and_an_unknown_id_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId, new { name = "one", permissions = new[] { "a" } });

        var found = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");
        var missing = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/key_01JD0000000000000000000000");

        found.StatusCode.ShouldBe(200);
        found.Str("name").ShouldBe("one");
        found.Data.GetProperty("lastUsedAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        missing.StatusCode.ShouldBe(404);
        missing.ErrorCode.ShouldBe("NOT_FOUND");
    }
}
