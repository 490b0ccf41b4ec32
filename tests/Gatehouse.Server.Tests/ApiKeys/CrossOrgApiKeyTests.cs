namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>Every API key route, named with another organization's key or org id: 404 (or NOT_FOUND) and nothing changed.</summary>
public sealed class CrossOrgApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task An_org_key_cannot_reach_another_orgs_keys_through_any_route()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (idB, keyB) = await _server.CreateKeyAsync(orgB, new { name = "b-key", permissions = new[] { "p" }, remaining = 3 });
        var keyA = await _server.OrgClientAsync(orgA, "api_keys:*");

        var responses = new[]
        {
            await keyA.PostAsync($"/api/v1/orgs/{orgB}/api-keys", new { name = "planted", permissions = Array.Empty<string>() }),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/api-keys"),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}"),
            await keyA.PatchAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}", new { name = "stolen" }),
            await keyA.PostAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}/rotate"),
            await keyA.PostAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}/validate", new { key = keyB }),
            await keyA.GetAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}/usage"),
            await keyA.DeleteAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}"),
            // Org A's own path with org B's key id.
            await keyA.GetAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}"),
            await keyA.PatchAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}", new { name = "stolen" }),
            await keyA.PostAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}/rotate"),
            await keyA.PostAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}/validate", new { key = keyB }),
            await keyA.GetAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}/usage"),
            await keyA.DeleteAsync($"/api/v1/orgs/{orgA}/api-keys/{idB}"),
        };

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(404, response.Text);
            response.ErrorCode.ShouldBe("NOT_FOUND");
        }

        var verify = await keyA.VerifyAsync(new { key = keyB });
        verify.Code().ShouldBe("NOT_FOUND");

        var read = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}");
        read.Str("name").ShouldBe("b-key");
        read.Data.GetProperty("remaining").GetInt64().ShouldBe(3);
        read.Data.GetProperty("revokedAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/api-keys")).Data.GetArrayLength().ShouldBe(1);
        (await _server.Root.VerifyAsync(new { key = keyB })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task Root_manages_and_verifies_keys_of_every_org()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId);

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).StatusCode.ShouldBe(200);
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
    }
}
