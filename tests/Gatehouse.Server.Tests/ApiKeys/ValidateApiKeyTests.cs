namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class ValidateApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task The_right_secret_is_VALID_and_spends_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "p" }, remaining = 1 });

        var first = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key });
        var second = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key });

        first.StatusCode.ShouldBe(200);
        first.Code().ShouldBe("VALID");
        first.Str("keyId").ShouldBe(id);
        second.Code().ShouldBe("VALID");
        second.Data.GetProperty("remaining").GetInt64().ShouldBe(1);
        (await _server.Root.VerifyAsync(new { key })).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task Another_secret_is_NOT_FOUND_with_no_key_data()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId);
        var (_, other) = await _server.CreateKeyAsync(orgId);

        var wrong = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key = other });
        var garbage = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key = "nonsense" });

        wrong.Code().ShouldBe("NOT_FOUND");
        wrong.Prop("keyId").ShouldBeNull();
        garbage.Code().ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task Revoked_and_disabled_keys_say_so()
    {
        var orgId = await _server.CreateOrgAsync();
        var (revokedId, revoked) = await _server.CreateKeyAsync(orgId);
        var (disabledId, disabled) = await _server.CreateKeyAsync(orgId, new { name = "d", permissions = Array.Empty<string>(), enabled = false });
        await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}");

        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}/validate", new { key = revoked })).Code().ShouldBe("REVOKED");
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{disabledId}/validate", new { key = disabled })).Code().ShouldBe("DISABLED");
    }

    [Fact]
    public async Task Missing_key_is_422_unknown_id_is_404_and_missing_permission_is_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId);
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { })).StatusCode.ShouldBe(422);
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/key_01JD0000000000000000000000/validate", new { key })).StatusCode.ShouldBe(404);
        (await reader.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/validate", new { key })).StatusCode.ShouldBe(403);
    }
}
