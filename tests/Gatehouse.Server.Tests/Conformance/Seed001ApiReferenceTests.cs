using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Seed 001 ("API Reference Overview": API keys, OAuth clients, credentials vault, admin, health),
/// walked in the document's order with its headers (<c>x-tenantid</c>, <c>realmname</c>, <c>accept</c>)
/// against its base URL <c>/api/v1</c>: the organization routes at their flat paths, the admin and
/// health routes as they are. Then the same flat routes naming another organization answer 404 and change nothing.
/// </summary>
public sealed class Seed001ApiReferenceTests(SharedServer shared)
{
    private const int DocumentedEndpoints = 29;
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_endpoint_of_seed_001_answers_as_the_document_shows()
    {
        var walk = new SeedWalk("001");
        var tenant = await _server.CreateOrgAsync("Seed 001 tenant");
        var other = await _server.CreateOrgAsync("Seed 001 other");
        var headers = SeedCalls.Seed001Headers(tenant);
        var root = _server.Root;
        string keyId = "", key = "", clientId = "", credentialId = "";
        var integrationId = "seed-001-" + Guid.NewGuid().ToString("N")[..8];

        // API Keys.
        await walk.BuiltAsync("POST /api-keys", async () =>
        {
            var created = await root.PostAsync("/api/v1/api-keys", new { name = "seed 001", permissions = new[] { "reports:read" } }, headers);
            created.ShouldBeEnvelope(201);
            (keyId, key) = (created.Str("id"), created.Str("key"));
            created.Str("orgId").ShouldBe(tenant);
        });
        await walk.BuiltAsync("GET /api-keys", async () =>
        {
            var list = await root.GetAsync("/api/v1/api-keys?limit=50&offset=0", headers);
            list.ShouldBeEnvelope(200);
            list.Data.EnumerateArray().Select(k => k.GetProperty("id").GetString()).ShouldContain(keyId);
            list.Body.GetProperty("meta").GetProperty("pagination").GetProperty("limit").GetInt32().ShouldBe(50);
        });
        await walk.BuiltAsync("GET /api-keys/{keyId}", async () =>
        {
            var read = await root.GetAsync($"/api/v1/api-keys/{keyId}", headers);
            read.ShouldBeEnvelope(200);
            read.Str("id").ShouldBe(keyId);
            read.Data.TryGetProperty("key", out _).ShouldBeFalse("the secret is shown once");
        });
        await walk.BuiltAsync("POST /api-keys/{keyId}/validate", async () =>
        {
            var validated = await root.PostAsync($"/api/v1/api-keys/{keyId}/validate", new { key }, headers);
            validated.ShouldBeEnvelope(200);
            validated.Code().ShouldBe("VALID");
        });
        await walk.BuiltAsync("POST /api-keys/{keyId}/rotate", async () =>
        {
            var rotated = await root.PostAsync($"/api/v1/api-keys/{keyId}/rotate", new { gracePeriodSeconds = 0 }, headers);
            rotated.ShouldBeEnvelope(200);
            keyId = rotated.Str("id");
            rotated.Str("key").ShouldNotBe(key);
        });
        await walk.BuiltAsync("DELETE /api-keys/{keyId}", async () =>
        {
            var revoked = await root.SendAsync(HttpMethod.Delete, $"/api/v1/api-keys/{keyId}", null, headers);
            revoked.ShouldBeEnvelope(200);
            revoked.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        });

        // OAuth Clients.
        await walk.BuiltAsync("POST /oauth-clients", async () =>
        {
            var created = await root.PostAsync("/api/v1/oauth-clients", new { name = "seed 001 client", scopes = new[] { "reports:read" } }, headers);
            created.ShouldBeEnvelope(201);
            clientId = created.Str("id");
            created.Str("clientSecret").ShouldNotBeNullOrEmpty();
        });
        await walk.BuiltAsync("GET /oauth-clients", async () =>
        {
            var list = await root.GetAsync("/api/v1/oauth-clients", headers);
            list.ShouldBeEnvelope(200);
            list.Data.EnumerateArray().Select(c => c.GetProperty("id").GetString()).ShouldContain(clientId);
        });
        await walk.BuiltAsync("GET /oauth-clients/{clientId}", async () =>
        {
            var read = await root.GetAsync($"/api/v1/oauth-clients/{clientId}", headers);
            read.ShouldBeEnvelope(200);
            read.Data.TryGetProperty("clientSecret", out _).ShouldBeFalse("the secret is shown once");
        });
        await walk.BuiltAsync("PATCH /oauth-clients/{clientId}", async () =>
        {
            var updated = await root.SendAsync(HttpMethod.Patch, $"/api/v1/oauth-clients/{clientId}", new { description = "changed by seed 001" }, headers);
            updated.ShouldBeEnvelope(200);
            updated.Str("description").ShouldBe("changed by seed 001");
        });
        await walk.BuiltAsync("DELETE /oauth-clients/{clientId}", async () =>
            (await root.SendAsync(HttpMethod.Delete, $"/api/v1/oauth-clients/{clientId}", null, headers)).ShouldBeEnvelope(200));

        // Credentials Vault.
        await walk.BuiltAsync("POST /credentials", async () =>
        {
            var stored = await root.PostAsync("/api/v1/credentials", new { integrationId, authType = "api_key", name = "seed 001 credential", data = new { apiKey = "sk_seed_001" } }, headers);
            stored.ShouldBeEnvelope(201);
            credentialId = stored.Str("id");
            stored.Text.ShouldNotContain("sk_seed_001");
        });
        await walk.BuiltAsync("GET /credentials/{integrationId}", async () =>
        {
            var revealed = await root.GetAsync($"/api/v1/credentials/{integrationId}", headers);
            revealed.ShouldBeEnvelope(200);
            revealed.Text.ShouldContain("sk_seed_001");
        });
        await walk.BuiltAsync("GET /credentials/{integrationId}/details", async () =>
        {
            var details = await root.GetAsync($"/api/v1/credentials/{integrationId}/details", headers);
            details.ShouldBeEnvelope(200);
            details.Text.ShouldNotContain("sk_seed_001");
        });
        await walk.BuiltAsync("PATCH /credentials/{integrationId}/{credentialId}", async () =>
            (await root.SendAsync(HttpMethod.Patch, $"/api/v1/credentials/{integrationId}/{credentialId}", new { name = "seed 001 renamed" }, headers)).ShouldBeEnvelope(200));
        await walk.BuiltAsync("DELETE /credentials/{integrationId}/{credentialId}", async () =>
            (await root.SendAsync(HttpMethod.Delete, $"/api/v1/credentials/{integrationId}/{credentialId}", null, headers)).ShouldBeEnvelope(200));

        // Admin Operations: platform routes, where x-tenantid is sent as the document says and names nothing.
        var doomed = await _server.CreateOrgAsync("Seed 001 doomed");
        await walk.BuiltAsync("GET /admin/health", async () => (await root.GetAsync("/api/v1/admin/health", headers)).ShouldBeEnvelope(200));
        await walk.BuiltAsync("GET /admin/audit-logs", async () =>
        {
            var logs = await root.GetAsync("/api/v1/admin/audit-logs?limit=100&offset=0", headers);
            logs.ShouldBeEnvelope(200);
            logs.Body.GetProperty("meta").GetProperty("pagination").GetProperty("limit").GetInt32().ShouldBe(100);
        });
        await walk.BuiltAsync("GET /admin/tenants/{tenantId}", async () =>
        {
            var read = await root.GetAsync($"/api/v1/admin/tenants/{tenant}", headers);
            read.ShouldBeEnvelope(200);
            read.Str("id").ShouldBe(tenant);
        });
        await walk.BuiltAsync("PATCH /admin/tenants/{tenantId}", async () =>
        {
            var updated = await root.SendAsync(HttpMethod.Patch, $"/api/v1/admin/tenants/{tenant}", new { name = "Seed 001 tenant, renamed" }, headers);
            updated.ShouldBeEnvelope(200);
            updated.Str("name").ShouldBe("Seed 001 tenant, renamed");
        });
        await walk.BuiltAsync("DELETE /admin/tenants/{tenantId}", async () =>
        {
            (await root.SendAsync(HttpMethod.Delete, $"/api/v1/admin/tenants/{doomed}", null, headers)).ShouldBeEnvelope(200);
            (await root.GetAsync($"/api/v1/admin/tenants/{doomed}", headers)).ShouldBeError(404, "NOT_FOUND");
        });
        await walk.BuiltAsync("GET /admin/tenants/{tenantId}/stats", async () =>
            (await root.GetAsync($"/api/v1/admin/tenants/{tenant}/stats", headers)).ShouldBeEnvelope(200));
        await walk.BuiltAsync("POST /admin/dek/rotate", async () =>
            (await root.PostAsync("/api/v1/admin/dek/rotate", new { orgId = tenant }, headers)).ShouldBeEnvelope(200));
        await walk.BuiltAsync("POST /admin/service-account/create", async () =>
        {
            var created = await root.PostAsync("/api/v1/admin/service-account/create", new { orgId = tenant, name = "seed 001 account", permissions = new[] { "reports:read" } }, headers);
            created.ShouldBeEnvelope(201);
            created.Data.GetProperty("key").GetProperty("key").GetString().ShouldNotBeNullOrEmpty();
        });
        await walk.BuiltAsync("POST /admin/jobs/trigger", async () =>
        {
            var triggered = await root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "idempotency-purge" }, headers);
            triggered.ShouldBeEnvelope(202);
            triggered.Str("runId").ShouldNotBeNullOrEmpty();
        });
        await walk.BuiltAsync("GET /admin/jobs/{jobName}/stats", async () =>
            (await root.GetAsync("/api/v1/admin/jobs/idempotency-purge/stats", headers)).ShouldBeEnvelope(200));

        // Health Checks: no credential.
        await walk.BuiltAsync("GET /health", async () =>
        {
            var health = await _server.Anonymous.GetAsync("/health");
            health.StatusCode.ShouldBe(200, health.Text);
            health.Body.GetProperty("status").GetString().ShouldBe("healthy");
        });
        await walk.BuiltAsync("GET /api/v1/health", async () =>
        {
            var health = await _server.Anonymous.GetAsync("/api/v1/health");
            health.ShouldBeEnvelope(200);
            health.Str("status").ShouldBe("healthy");
        });
        await walk.BuiltAsync("GET /api/v1/admin/health", async () => (await root.GetAsync("/api/v1/admin/health")).ShouldBeEnvelope(200));

        await CheckTenantIsolationAsync(walk, tenant, other);
        walk.Finish(DocumentedEndpoints);
    }

    /// <summary>
    /// A key of one organization naming another in <c>x-tenantid</c> gets 404 on every flat route
    /// of the document, exactly as for something that does not exist, and the other is unchanged.
    /// </summary>
    private async Task CheckTenantIsolationAsync(SeedWalk walk, string tenant, string other)
    {
        var (otherKeyId, _) = await _server.CreateKeyAsync(other, new { name = "other's key", permissions = new[] { "reports:read" } });
        var otherClient = (await _server.Root.PostAsync($"/api/v1/orgs/{other}/oauth-clients", new { name = "other's client", scopes = new[] { "reports:read" } })).Str("id");
        var otherIntegration = "other-" + Guid.NewGuid().ToString("N")[..8];
        var otherCredential = (await _server.Root.PostAsync($"/api/v1/orgs/{other}/credentials", new { integrationId = otherIntegration, authType = "api_key", name = "other's", data = new { apiKey = "sk_other" } })).Str("id");
        var caller = await _server.OrgClientAsync(tenant, "*");
        var naming = SeedCalls.Seed001Headers(other);
        var before = await SnapshotAsync(other);
        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (HttpMethod.Post, "/api/v1/api-keys", new { name = "planted", permissions = Array.Empty<string>() }),
            (HttpMethod.Get, "/api/v1/api-keys", null),
            (HttpMethod.Get, $"/api/v1/api-keys/{otherKeyId}", null),
            (HttpMethod.Post, $"/api/v1/api-keys/{otherKeyId}/rotate", new { }),
            (HttpMethod.Delete, $"/api/v1/api-keys/{otherKeyId}", null),
            (HttpMethod.Get, $"/api/v1/oauth-clients/{otherClient}", null),
            (HttpMethod.Delete, $"/api/v1/oauth-clients/{otherClient}", null),
            (HttpMethod.Get, $"/api/v1/credentials/{otherIntegration}", null),
            (HttpMethod.Delete, $"/api/v1/credentials/{otherIntegration}/{otherCredential}", null),
        })
        {
            await walk.CheckAsync($"check {method} {path} naming another organization", async () =>
                (await caller.SendAsync(method, path, body, naming)).ShouldBeError(404, "NOT_FOUND"));
        }

        await walk.CheckAsync("check the other organization is unchanged", async () => (await SnapshotAsync(other)).ShouldBe(before));
    }

    private async Task<string> SnapshotAsync(string orgId)
    {
        var parts = new List<string>();
        foreach (var path in new[] { "/api-keys?includeRevoked=true", "/oauth-clients", "/credentials" })
        {
            var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}{path}");
            parts.Add(System.Text.RegularExpressions.Regex.Replace(response.Data.GetRawText(), "\"lastUsedAt\":(\"[^\"]*\"|null)", ""));
        }

        return string.Join('\n', parts);
    }
}
