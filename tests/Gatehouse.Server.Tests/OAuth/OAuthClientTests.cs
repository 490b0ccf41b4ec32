using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.ServiceAccounts;
using Gatehouse.Server.Tests.Webhooks;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>The OAuth client routes: each success, each error code, another organization's clients, audit and events.</summary>
public sealed class OAuthClientTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private static string[] FieldNames(ApiResponse response) =>
        [.. response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => f.GetProperty("field").GetString()!).Distinct().Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Creating_a_client_returns_every_field_and_its_secret_once()
    {
        var orgId = await _server.CreateOrgAsync();

        var created = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new
        {
            name = "billing-sync",
            description = "nightly billing export",
            scopes = new[] { "api_keys:read", "deploy:write" },
            tokenTtlSeconds = 900,
        });

        created.StatusCode.ShouldBe(201, created.Text);
        var data = created.Data;
        var id = created.Str("id");
        id.ShouldStartWith("ocl_");
        created.Str("clientId").ShouldBe(id);
        created.Str("orgId").ShouldBe(orgId);
        created.Str("name").ShouldBe("billing-sync");
        created.Str("description").ShouldBe("nightly billing export");
        data.GetProperty("scopes").Strings().ShouldBe(["api_keys:read", "deploy:write"], ignoreOrder: true);
        data.GetProperty("tokenTtlSeconds").GetInt32().ShouldBe(900);
        created.Str("tokenEndpointAuthMethod").ShouldBe("client_secret_basic");
        created.Str("signingAlgorithm").ShouldBe("ES256");
        data.GetProperty("jwks").ValueKind.ShouldBe(JsonValueKind.Null);
        data.GetProperty("jwksUri").ValueKind.ShouldBe(JsonValueKind.Null);
        data.GetProperty("serviceAccountId").ValueKind.ShouldBe(JsonValueKind.Null);
        data.GetProperty("disabled").GetBoolean().ShouldBeFalse();
        data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(JsonValueKind.Null);
        data.Instant("updatedAt").ShouldBeGreaterThanOrEqualTo(data.Instant("createdAt"));
        var secret = created.Str("clientSecret");
        secret.ShouldStartWith("gcs_");
        // 256 bits of randomness take at least 43 characters in any URL-safe alphabet (base64url: 6 bits each).
        secret["gcs_".Length..].Length.ShouldBeGreaterThanOrEqualTo(43);

        // The secret is never shown again, and the client reads back as created.
        var read = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{id}");
        read.StatusCode.ShouldBe(200, read.Text);
        read.Str("name").ShouldBe("billing-sync");
        read.Data.GetProperty("tokenTtlSeconds").GetInt32().ShouldBe(900);
        read.Text.ShouldNotContain(secret);
        (!read.Data.TryGetProperty("clientSecret", out var shown) || shown.ValueKind == JsonValueKind.Null).ShouldBeTrue(read.Text);
        var list = await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId));
        list.StatusCode.ShouldBe(200, list.Text);
        list.Data.GetArrayLength().ShouldBe(1);
        list.Text.ShouldNotContain(secret);
        list.Text.ShouldNotContain(secret["gcs_".Length..]);

        // The secret works at the token endpoint.
        (await _server.TokenWithBasicAsync(id, secret)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Defaults_apply_when_only_name_and_scopes_are_given()
    {
        var orgId = await _server.CreateOrgAsync();

        var created = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "minimal", scopes = new[] { "deploy:read" } });

        created.StatusCode.ShouldBe(201, created.Text);
        created.Data.GetProperty("tokenTtlSeconds").GetInt32().ShouldBe(3600);
        created.Str("tokenEndpointAuthMethod").ShouldBe("client_secret_basic");
        created.Str("signingAlgorithm").ShouldBe("ES256");
        created.Data.GetProperty("description").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task A_private_key_jwt_client_has_no_secret_and_keeps_its_jwks()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();

        var created = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "signed", scopes = new[] { "deploy:read" }, tokenEndpointAuthMethod = "private_key_jwt", jwks = key.PublicJwks() });
        var byUri = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "by-uri", scopes = new[] { "deploy:read" }, tokenEndpointAuthMethod = "private_key_jwt", jwksUri = "https://keys.example.test/jwks.json" });

        created.StatusCode.ShouldBe(201, created.Text);
        created.Data.GetProperty("clientSecret").ValueKind.ShouldBe(JsonValueKind.Null);
        created.Str("tokenEndpointAuthMethod").ShouldBe("private_key_jwt");
        var keys = created.Data.GetProperty("jwks").GetProperty("keys");
        keys.GetArrayLength().ShouldBe(1);
        keys[0].GetProperty("kid").GetString().ShouldBe(key.Kid);
        keys[0].TryGetProperty("d", out _).ShouldBeFalse();
        byUri.StatusCode.ShouldBe(201, byUri.Text);
        byUri.Str("jwksUri").ShouldBe("https://keys.example.test/jwks.json");
        byUri.Data.GetProperty("clientSecret").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Every_rule_of_a_create_request_is_422_naming_its_field_and_nothing_is_created()
    {
        var orgId = await _server.CreateOrgAsync();
        var path = OAuthSteps.ClientsPath(orgId);
        using var key = new ClientKey();
        var scopes = new[] { "deploy:read" };

        // Each case names the fields its rule may be reported on (the private_key_jwt rule concerns jwks and jwksUri alike).
        var cases = new (string[] Fields, object Body)[]
        {
            (["name"], new { scopes }),
            (["name"], new { name = "", scopes }),
            (["name"], new { name = new string('n', 101), scopes }),
            (["description"], new { name = "d", description = new string('d', 1001), scopes }),
            (["scopes"], new { name = "s" }),
            (["scopes"], new { name = "s", scopes = Array.Empty<string>() }),
            (["scopes"], new { name = "s", scopes = new[] { "NOT A PERMISSION" } }),
            (["tokenTtlSeconds"], new { name = "t", scopes, tokenTtlSeconds = 59 }),
            (["tokenTtlSeconds"], new { name = "t", scopes, tokenTtlSeconds = 86401 }),
            (["tokenEndpointAuthMethod"], new { name = "m", scopes, tokenEndpointAuthMethod = "client_secret_jwt" }),
            (["signingAlgorithm"], new { name = "a", scopes, signingAlgorithm = "HS256" }),
            (["jwks", "jwksUri"], new { name = "k", scopes, tokenEndpointAuthMethod = "private_key_jwt" }),
            (["jwks"], new { name = "k", scopes, tokenEndpointAuthMethod = "client_secret_basic", jwks = key.PublicJwks() }),
            (["jwksUri"], new { name = "k", scopes, tokenEndpointAuthMethod = "client_secret_post", jwksUri = "https://keys.example.test/jwks.json" }),
            (["serviceAccountId"], new { name = "sa", scopes, serviceAccountId = "sa_" + Guid.NewGuid().ToString("N") }),
        };

        var wrong = new List<string>();
        foreach (var (fields, body) in cases)
        {
            var response = await _server.Root.PostAsync(path, body);
            var named = response.ErrorCode == "VALIDATION_FAILED" ? FieldNames(response) : [];
            if (!named.Any(f => fields.Any(field => f == field || f.StartsWith(field + "[", StringComparison.Ordinal) || f.StartsWith(field + ".", StringComparison.Ordinal))))
            {
                wrong.Add($"{JsonSerializer.Serialize(body)} → {response}");
            }
        }

        wrong.ShouldBeEmpty();
        (await _server.Root.GetAsync(path)).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_jwks_uri_must_be_https_where_insecure_outbound_urls_are_not_allowed()
    {
        // The shared test servers allow plain-http outbound URLs (for local webhook receivers); production does not.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:AllowInsecure"] = "false" },
        });
        var orgId = await server.CreateOrgAsync();

        var plain = await server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "k", scopes = new[] { "deploy:read" }, tokenEndpointAuthMethod = "private_key_jwt", jwksUri = "http://keys.example.test/jwks.json" });

        plain.StatusCode.ShouldBe(422, plain.Text);
        FieldNames(plain).ShouldBe(["jwksUri"]);
        (await server.Root.GetAsync(OAuthSteps.ClientsPath(orgId))).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task An_unknown_field_or_a_wrong_type_is_400_and_nothing_is_created()
    {
        var orgId = await _server.CreateOrgAsync();
        var path = OAuthSteps.ClientsPath(orgId);

        var unknown = await _server.Root.PostAsync(path, new { name = "x", scopes = new[] { "deploy:read" }, scope = "deploy:write" });
        var wrongType = await _server.Root.PostAsync(path, new { name = "x", scopes = "deploy:read" });

        unknown.StatusCode.ShouldBe(400, unknown.Text);
        unknown.ErrorCode.ShouldBe("INVALID_REQUEST");
        wrongType.StatusCode.ShouldBe(400, wrongType.Text);
        wrongType.ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Root.GetAsync(path)).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_duplicate_name_in_the_organization_is_409_and_another_organization_may_reuse_it()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        await _server.CreateOAuthClientAsync(orgId, new { name = "taken", scopes = new[] { "deploy:read" } });
        var second = await _server.CreateOAuthClientAsync(orgId, new { name = "second", scopes = new[] { "deploy:read" } });

        var again = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "taken", scopes = new[] { "deploy:read" } });
        var rename = await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{second.Id}", new { name = "taken" });
        var elsewhere = await _server.Root.PostAsync(OAuthSteps.ClientsPath(otherOrg), new { name = "taken", scopes = new[] { "deploy:read" } });

        again.StatusCode.ShouldBe(409, again.Text);
        again.ErrorCode.ShouldBe("CONFLICT");
        rename.ErrorCode.ShouldBe("CONFLICT", rename.Text);
        elsewhere.StatusCode.ShouldBe(201, elsewhere.Text);
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId))).Data.GetArrayLength().ShouldBe(2);
        (await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{second.Id}")).Str("name").ShouldBe("second");
    }

    [Fact]
    public async Task A_caller_cannot_give_a_client_a_scope_the_caller_does_not_hold()
    {
        var orgId = await _server.CreateOrgAsync();
        var manager = await _server.OrgClientAsync(orgId, "oauth_clients:write", "oauth_clients:read", "api_keys:read");
        var existing = await _server.CreateOAuthClientAsync(orgId, new { name = "narrow", scopes = new[] { "api_keys:read" } }, manager);

        var create = await manager.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "greedy", scopes = new[] { "api_keys:write" } });
        var widen = await manager.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{existing.Id}", new { scopes = new[] { "api_keys:read", "api_keys:write" } });

        create.StatusCode.ShouldBe(403, create.Text);
        create.ErrorCode.ShouldBe("FORBIDDEN");
        widen.StatusCode.ShouldBe(403, widen.Text);
        widen.ErrorCode.ShouldBe("FORBIDDEN");
        var clients = await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId));
        clients.Data.GetArrayLength().ShouldBe(1);
        clients.Data[0].GetProperty("scopes").Strings().ShouldBe(["api_keys:read"]);
        (await _server.AuditCountAsync(orgId, "oauth_client.create")).ShouldBe(1);
        (await _server.AuditCountAsync(orgId, "oauth_client.update")).ShouldBe(0);
    }

    [Fact]
    public async Task Reading_needs_oauth_clients_read_and_writing_needs_oauth_clients_write()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var path = OAuthSteps.ClientsPath(orgId);
        var reader = await _server.OrgClientAsync(orgId, "oauth_clients:read");
        var nobody = await _server.OrgClientAsync(orgId, "deploy:read");

        (await reader.GetAsync(path)).StatusCode.ShouldBe(200);
        (await reader.GetAsync($"{path}/{client.Id}")).Str("id").ShouldBe(client.Id);
        var denied = new[]
        {
            await nobody.GetAsync(path),
            await nobody.GetAsync($"{path}/{client.Id}"),
            await reader.PostAsync(path, new { name = "x", scopes = new[] { "deploy:read" } }),
            await reader.PatchAsync($"{path}/{client.Id}", new { name = "renamed" }),
            await reader.PostAsync($"{path}/{client.Id}/rotate-secret", new { }),
            await reader.DeleteAsync($"{path}/{client.Id}"),
        };
        foreach (var response in denied)
        {
            response.StatusCode.ShouldBe(403, response.Text);
            response.ErrorCode.ShouldBe("FORBIDDEN");
        }

        denied[3].Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("oauth_clients:write");
        (await _server.Anonymous.GetAsync(path)).StatusCode.ShouldBe(401);
        var after = await _server.Root.GetAsync($"{path}/{client.Id}");
        after.Str("name").ShouldBe(client.Created.Str("name"));
        (await _server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Listing_pages_like_every_list_and_rejects_bad_paging()
    {
        var orgId = await _server.CreateOrgAsync();
        for (var i = 0; i < 3; i++)
        {
            await _server.CreateOAuthClientAsync(orgId, new { name = $"client-{i}", scopes = new[] { "deploy:read" } });
        }

        var page = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}?limit=2&sort=createdAt");
        var second = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}?limit=2&offset=2&sort=createdAt");
        var bad = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}?limit=0");
        var unknownParameter = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}?limt=2");

        page.StatusCode.ShouldBe(200, page.Text);
        page.Data.GetArrayLength().ShouldBe(2);
        page.Data[0].GetProperty("name").GetString().ShouldBe("client-0");
        var pagination = page.Body.GetProperty("meta").GetProperty("pagination");
        pagination.GetProperty("total").GetInt64().ShouldBe(3);
        pagination.GetProperty("hasMore").GetBoolean().ShouldBeTrue();
        second.Data.GetArrayLength().ShouldBe(1);
        second.Data[0].GetProperty("name").GetString().ShouldBe("client-2");
        bad.ErrorCode.ShouldBe("INVALID_REQUEST");
        unknownParameter.ErrorCode.ShouldBe("INVALID_REQUEST");
        foreach (var item in page.Data.EnumerateArray())
        {
            (!item.TryGetProperty("clientSecret", out var secret) || secret.ValueKind == JsonValueKind.Null).ShouldBeTrue(page.Text);
        }
    }

    [Fact]
    public async Task Patch_changes_each_field_and_reads_back()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read", "deploy:write"]);
        var path = $"{OAuthSteps.ClientsPath(orgId)}/{client.Id}";

        var renamed = await _server.Root.PatchAsync(path, new { name = "renamed" });
        var described = await _server.Root.PatchAsync(path, new { description = "now described" });
        var narrowed = await _server.Root.PatchAsync(path, new { scopes = new[] { "deploy:read" } });
        var shortened = await _server.Root.PatchAsync(path, new { tokenTtlSeconds = 120 });

        foreach (var response in new[] { renamed, described, narrowed, shortened })
        {
            response.StatusCode.ShouldBe(200, response.Text);
            response.Text.ShouldNotContain(client.Secret!);
        }

        var read = await _server.Root.GetAsync(path);
        read.Str("name").ShouldBe("renamed");
        read.Str("description").ShouldBe("now described");
        read.Data.GetProperty("scopes").Strings().ShouldBe(["deploy:read"]);
        read.Data.GetProperty("tokenTtlSeconds").GetInt32().ShouldBe(120);
        read.Data.Instant("updatedAt").ShouldBeGreaterThanOrEqualTo(read.Data.Instant("createdAt"));

        // The changes reach the token endpoint: the new lifetime, and the removed scope is refused.
        var token = await _server.TokenWithBasicAsync(client.Id, client.Secret!);
        token.Body.GetProperty("expires_in").GetInt32().ShouldBe(120);
        OAuthSteps.ScopeSet(token.Body.GetProperty("scope").GetString()).ShouldBe(["deploy:read"]);
        (await _server.TokenWithBasicAsync(client.Id, client.Secret!, "deploy:write")).OAuthError().ShouldBe("invalid_scope");
        (await _server.AuditCountAsync(orgId, "oauth_client.update", client.Id)).ShouldBe(4);
    }

    [Fact]
    public async Task Patch_disables_and_enables_a_client_and_replaces_a_key_clients_jwks()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        using var first = new ClientKey();
        using var second = new ClientKey();
        var keyed = await _server.CreateKeyClientAsync(orgId, first, ["deploy:read"]);
        var path = $"{OAuthSteps.ClientsPath(orgId)}/{client.Id}";

        var disabled = await _server.Root.PatchAsync(path, new { disabled = true });
        var refused = await _server.TokenWithBasicAsync(client.Id, client.Secret!);
        var enabled = await _server.Root.PatchAsync(path, new { disabled = false });
        var replaced = await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{keyed.Id}", new { jwks = second.PublicJwks() });
        var toUri = await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{keyed.Id}", new { jwksUri = "https://keys.example.test/other.json" });
        var jwksOnSecretClient = await _server.Root.PatchAsync(path, new { jwks = second.PublicJwks() });

        disabled.StatusCode.ShouldBe(200, disabled.Text);
        disabled.Data.GetProperty("disabled").GetBoolean().ShouldBeTrue();
        refused.StatusCode.ShouldBe(401, refused.Text);
        refused.OAuthError().ShouldBe("invalid_client");
        enabled.Data.GetProperty("disabled").GetBoolean().ShouldBeFalse();
        (await _server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
        replaced.StatusCode.ShouldBe(200, replaced.Text);
        replaced.Data.GetProperty("jwks").GetProperty("keys")[0].GetProperty("kid").GetString().ShouldBe(second.Kid);
        toUri.StatusCode.ShouldBe(200, toUri.Text);
        toUri.Str("jwksUri").ShouldBe("https://keys.example.test/other.json");
        jwksOnSecretClient.ErrorCode.ShouldBe("VALIDATION_FAILED", jwksOnSecretClient.Text);
        (await _server.Root.GetAsync(path)).Data.GetProperty("jwks").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task Patch_rules_are_422_and_change_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var path = $"{OAuthSteps.ClientsPath(orgId)}/{client.Id}";

        var responses = new[]
        {
            await _server.Root.PatchAsync(path, new { name = new string('n', 101) }),
            await _server.Root.PatchAsync(path, new { scopes = Array.Empty<string>() }),
            await _server.Root.PatchAsync(path, new { scopes = new[] { "BAD SCOPE" } }),
            await _server.Root.PatchAsync(path, new { tokenTtlSeconds = 59 }),
            await _server.Root.PatchAsync(path, new { tokenTtlSeconds = 86401 }),
        };
        var unknown = await _server.Root.PatchAsync(path, new { tokenEndpointAuthMethd = "client_secret_post" });

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(422, response.Text);
            response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        }

        unknown.ErrorCode.ShouldBe("INVALID_REQUEST", unknown.Text);
        var read = await _server.Root.GetAsync(path);
        read.Str("name").ShouldBe(client.Created.Str("name"));
        read.Data.GetProperty("scopes").Strings().ShouldBe(["deploy:read"]);
        read.Data.GetProperty("tokenTtlSeconds").GetInt32().ShouldBe(3600);
        (await _server.AuditCountAsync(orgId, "oauth_client.update")).ShouldBe(0);
    }

    [Fact]
    public async Task Deleting_a_client_answers_its_id_and_then_it_is_gone_with_its_tokens()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var path = $"{OAuthSteps.ClientsPath(orgId)}/{client.Id}";
        (await _server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);

        var deleted = await _server.Root.DeleteAsync(path);

        deleted.StatusCode.ShouldBe(200, deleted.Text);
        deleted.Str("id").ShouldBe(client.Id);
        deleted.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        (await _server.Root.GetAsync(path)).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.DeleteAsync(path)).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.PatchAsync(path, new { name = "ghost" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.PostAsync($"{path}/rotate-secret", new { })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId))).Data.GetArrayLength().ShouldBe(0);
        (await _server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(401);
        (await _server.TokenWithBasicAsync(client.Id, client.Secret!)).OAuthError().ShouldBe("invalid_client");
        (await _server.AuditCountAsync(orgId, "oauth_client.delete", client.Id)).ShouldBe(1);
    }

    [Fact]
    public async Task An_org_credential_cannot_reach_another_orgs_clients_through_any_route()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var clientB = await _server.CreateSecretClientAsync(orgB, ["deploy:read"]);
        var keyA = await _server.OrgClientAsync(orgA, "oauth_clients:*", "deploy:*");
        var before = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}");

        var responses = new[]
        {
            await keyA.PostAsync(OAuthSteps.ClientsPath(orgB), new { name = "planted", scopes = new[] { "deploy:read" } }),
            await keyA.GetAsync(OAuthSteps.ClientsPath(orgB)),
            await keyA.GetAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}"),
            await keyA.PatchAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}", new { name = "stolen" }),
            await keyA.PostAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}/rotate-secret", new { }),
            await keyA.DeleteAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}"),
            // Org A's own path with org B's client id.
            await keyA.GetAsync($"{OAuthSteps.ClientsPath(orgA)}/{clientB.Id}"),
            await keyA.PatchAsync($"{OAuthSteps.ClientsPath(orgA)}/{clientB.Id}", new { disabled = true }),
            await keyA.PostAsync($"{OAuthSteps.ClientsPath(orgA)}/{clientB.Id}/rotate-secret", new { gracePeriodSeconds = 0 }),
            await keyA.DeleteAsync($"{OAuthSteps.ClientsPath(orgA)}/{clientB.Id}"),
        };

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(404, response.Text);
            response.ErrorCode.ShouldBe("NOT_FOUND");
            response.Text.ShouldNotContain("gcs_");
        }

        var after = await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgB)}/{clientB.Id}");
        after.Data.ToString().ShouldBe(before.Data.ToString());
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgB))).Data.GetArrayLength().ShouldBe(1);
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgA))).Data.GetArrayLength().ShouldBe(0);
        (await _server.TokenWithBasicAsync(clientB.Id, clientB.Secret!)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_client_with_another_orgs_service_account_is_422_on_that_field()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (accountB, _, _) = await _server.CreateServiceAccountAsync(orgB, ["deploy:read"]);

        var response = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgA), new { name = "borrowed", scopes = new[] { "deploy:read" }, serviceAccountId = accountB });

        response.StatusCode.ShouldBe(422, response.Text);
        FieldNames(response).ShouldContain("serviceAccountId");
        response.Text.ShouldNotContain(orgB);
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgA))).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Every_change_is_audited_and_no_audit_event_holds_a_secret()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}", new { name = "renamed" });
        var rotated = await _server.Root.PostAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}/rotate-secret", new { gracePeriodSeconds = 60 });
        rotated.StatusCode.ShouldBe(200, rotated.Text);
        var newSecret = rotated.Str("clientSecret");
        await _server.Root.DeleteAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}");

        foreach (var action in new[] { "oauth_client.create", "oauth_client.update", "oauth_client.rotate_secret", "oauth_client.delete" })
        {
            (await _server.AuditCountAsync(orgId, action, client.Id)).ShouldBe(1, action);
        }

        var trail = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200");
        trail.StatusCode.ShouldBe(200, trail.Text);
        foreach (var secret in new[] { client.Secret!, newSecret })
        {
            trail.Text.ShouldNotContain(secret);
            trail.Text.ShouldNotContain(secret["gcs_".Length..]);
            _server.Logs.All.ShouldNotContain(secret);
        }
    }

    [Fact]
    public async Task Each_change_emits_its_webhook_event()
    {
        var orgId = await _server.CreateOrgAsync();
        var (webhookId, _) = await _server.CreateWebhookAsync(orgId, "http://127.0.0.1:9/oauth-events", "oauth_client.*");
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}", new { description = "changed" });
        await _server.Root.PostAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}/rotate-secret", new { });
        await _server.Root.DeleteAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}");

        var deliveries = await _server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count >= 4);

        deliveries.Select(d => d.GetProperty("eventType").GetString()).ShouldBe(
            ["oauth_client.created", "oauth_client.updated", "oauth_client.secret_rotated", "oauth_client.deleted"], ignoreOrder: true);
    }
}
