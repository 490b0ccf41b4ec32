namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class RevokeApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_revoked_key_is_rejected_by_the_very_next_verify_and_the_record_stays()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId);
        // Warm the cache: the revocation must not wait for any cache window.
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        var revoked = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");

        revoked.StatusCode.ShouldBe(200);
        revoked.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        var verdict = await _server.Root.VerifyAsync(new { key });
        verdict.Code().ShouldBe("REVOKED");
        verdict.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        verdict.Str("keyId").ShouldBe(id);
        var read = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");
        read.StatusCode.ShouldBe(200);
        read.Str("revokedAt").ShouldNotBeNullOrEmpty();
        (await _server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().ReadAuditActionsAsync(orgId)).ShouldContain("api_key.revoke");
    }

    [Fact]
    public async Task A_second_delete_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId);

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).StatusCode.ShouldBe(200);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task A_revoked_org_key_can_no_longer_call_the_api()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "caller", permissions = new[] { "api_keys:read" } });
        var client = _server.CreateClient(key);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);

        await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");

        var rejected = await client.GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        rejected.StatusCode.ShouldBe(401);
        rejected.ErrorCode.ShouldBe("INVALID_API_KEY");
    }

    [Fact]
    public async Task Without_api_keys_write_it_is_403_and_the_key_stays()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId);
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        (await reader.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).StatusCode.ShouldBe(403);
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task Deleting_the_organization_revokes_its_keys_at_once()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("REVOKED");
    }
}
