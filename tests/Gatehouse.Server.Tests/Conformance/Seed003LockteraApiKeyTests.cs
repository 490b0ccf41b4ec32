using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 003 (Locktera "API Key Management"): <c>/v1/orgs/{org_id}/api_keys</c>, bare snake_case JSON,
/// 200 for every success, the delete's confirmation message — run by the canonical key handlers, so
/// permissions, audit events and the keys themselves are the canonical ones.
/// </summary>
public sealed class Seed003LockteraApiKeyTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 3;
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_endpoint_of_seed_003_answers_as_the_document_shows()
    {
        var walk = new SeedWalk("003");
        var orgId = await _server.CreateOrgAsync("Seed 003");
        var (existingId, _) = await _server.CreateKeyAsync(orgId, new { name = "My API Key", permissions = new[] { "read", "write" } });
        var admin = await _server.OrgClientAsync(orgId, "*");
        string createdId = "", createdKey = "";

        await walk.BuiltAsync("GET /orgs/{org_id}/api_keys", async () =>
        {
            var list = await admin.GetAsync($"/v1/orgs/{orgId}/api_keys");
            list.StatusCode.ShouldBe(200, list.Text);
            var existing = list.Body.EnumerateArray().Single(k => k.GetProperty("id").GetString() == existingId);
            existing.GetProperty("name").GetString().ShouldBe("My API Key");
            existing.GetProperty("created_at").GetString().ShouldEndWith("Z");
            existing.GetProperty("permissions").Strings().ShouldBe(["read", "write"]);
            existing.TryGetProperty("key", out _).ShouldBeFalse("a list never shows a secret");
        });
        await walk.BuiltAsync("POST /orgs/{org_id}/api_keys", async () =>
        {
            var created = await _server.Root.PostAsync($"/v1/orgs/{orgId}/api_keys", new { name = "New API Key", permissions = new[] { "read", "write" } });
            created.StatusCode.ShouldBe(200, created.Text);
            created.Body.GetProperty("name").GetString().ShouldBe("New API Key");
            created.Body.GetProperty("permissions").Strings().ShouldBe(["read", "write"]);
            created.Body.GetProperty("created_at").GetString().ShouldNotBeNullOrEmpty();
            createdId = created.Body.GetProperty("id").GetString()!;
            createdKey = created.Body.GetProperty("key").GetString()!;
            created.Body.TryGetProperty("success", out _).ShouldBeFalse("no envelope");
            (await _server.Root.VerifyAsync(new { key = createdKey })).Code().ShouldBe("VALID");
        });
        await walk.BuiltAsync("DELETE /orgs/{org_id}/api_keys/{key_id}", async () =>
        {
            var deleted = await admin.DeleteAsync($"/v1/orgs/{orgId}/api_keys/{createdId}");
            deleted.StatusCode.ShouldBe(200, deleted.Text);
            deleted.Text.ShouldBe("{\"message\":\"API key deleted successfully\"}");
            (await _server.Root.VerifyAsync(new { key = createdKey })).Code().ShouldBe("REVOKED");
        });

        await walk.CheckAsync("check the audit trail holds the canonical events, one each", async () =>
        {
            var actions = await _server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().ReadAuditActionsAsync(orgId);
            actions.Count(a => a == "api_key.create").ShouldBe(3, string.Join(", ", actions));
            actions.Count(a => a == "api_key.revoke").ShouldBe(1, string.Join(", ", actions));
        });
        await walk.CheckAsync("check 401 without a key, as a bare error", async () =>
        {
            var anonymous = await _server.Anonymous.GetAsync($"/v1/orgs/{orgId}/api_keys");
            anonymous.StatusCode.ShouldBe(401, anonymous.Text);
            anonymous.ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
            anonymous.Body.TryGetProperty("success", out _).ShouldBeFalse(anonymous.Text);
        });
        await walk.CheckAsync("check 403 for a key without the permission", async () =>
        {
            var reader = await _server.OrgClientAsync(orgId, "api_keys:read");
            var refused = await reader.PostAsync($"/v1/orgs/{orgId}/api_keys", new { name = "not allowed", permissions = Array.Empty<string>() });
            refused.StatusCode.ShouldBe(403, refused.Text);
            refused.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:write");
        });
        await walk.CheckAsync("check 400 for a malformed body, with the field named", async () =>
        {
            var typo = await _server.Root.PostAsync($"/v1/orgs/{orgId}/api_keys", new { name = "typo", permisions = new[] { "read" } });
            typo.StatusCode.ShouldBe(400, typo.Text);
            typo.ErrorCode.ShouldBe("INVALID_REQUEST");
        });
        await walk.CheckAsync("check 404 for an unknown key and for a second delete", async () =>
        {
            var again = await admin.DeleteAsync($"/v1/orgs/{orgId}/api_keys/{createdId}");
            again.StatusCode.ShouldBe(404, again.Text);
            again.ErrorCode.ShouldBe("NOT_FOUND");
        });
        await walk.CheckAsync("check an unknown route under /v1 answers a bare 404", async () =>
        {
            var unknown = await admin.GetAsync($"/v1/orgs/{orgId}/containers");
            unknown.StatusCode.ShouldBe(404, unknown.Text);
            unknown.ErrorCode.ShouldBe("NOT_FOUND");
        });
        await CheckAnotherOrganizationAsync(walk, orgId);
        walk.Finish(DocumentedEndpoints);
    }

    /// <summary>A key of one organization naming another in the path: 404, as for nothing, and nothing changes.</summary>
    private async Task CheckAnotherOrganizationAsync(SeedWalk walk, string orgId)
    {
        var other = await _server.CreateOrgAsync("Seed 003 other");
        var (otherKeyId, _) = await _server.CreateKeyAsync(other, new { name = "other's", permissions = new[] { "read" } });
        var caller = await _server.OrgClientAsync(orgId, "*");
        var before = (await _server.Root.GetAsync($"/api/v1/orgs/{other}/api-keys?includeRevoked=true")).Data.GetRawText();
        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (HttpMethod.Get, $"/v1/orgs/{other}/api_keys", null),
            (HttpMethod.Post, $"/v1/orgs/{other}/api_keys", new { name = "planted", permissions = new[] { "read" } }),
            (HttpMethod.Delete, $"/v1/orgs/{other}/api_keys/{otherKeyId}", null),
            (HttpMethod.Delete, $"/v1/orgs/{orgId}/api_keys/{otherKeyId}", null),
        })
        {
            await walk.CheckAsync($"check {method} {path} of another organization", async () =>
            {
                var response = await caller.SendAsync(method, path, body);
                response.StatusCode.ShouldBe(404, response.Text);
                response.ErrorCode.ShouldBe("NOT_FOUND");
            });
        }

        await walk.CheckAsync("check the other organization is unchanged", async () =>
            (await _server.Root.GetAsync($"/api/v1/orgs/{other}/api-keys?includeRevoked=true")).Data.GetRawText().ShouldBe(before));
    }
}
