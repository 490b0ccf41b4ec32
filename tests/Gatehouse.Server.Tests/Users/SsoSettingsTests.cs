using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Users;

/// <summary>GET / PUT / DELETE /api/v1/orgs/{orgId}/sso: every answer, the secret kept out of every response and event.</summary>
public sealed class SsoSettingsTests(SharedServer shared)
{
    private const string Secret = "sso-client-secret-never-shown-0123456789";
    private readonly GatehouseServer _server = shared.Server;

    private static object Settings(string issuer = "https://idp.example.com", string? secret = Secret, object? roleMappings = null, string[]? defaultRoles = null) => new
    {
        issuer,
        clientId = "gatehouse",
        clientSecret = secret,
        roleMappings = roleMappings ?? Array.Empty<object>(),
        defaultRoles = defaultRoles ?? [],
    };

    [Fact]
    public async Task Put_saves_the_provider_get_shows_it_without_the_secret_and_delete_removes_it()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "viewer", permissions = new[] { "users:read" } });

        var put = await _server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(roleMappings: new[] { new { value = "staff", role = "viewer" } }, defaultRoles: ["viewer"]));
        put.StatusCode.ShouldBe(200, put.Text);
        put.Text.ShouldNotContain(Secret);
        put.Data.GetProperty("hasClientSecret").GetBoolean().ShouldBeTrue();
        put.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        put.Data.GetProperty("scopes").Strings().ShouldBe(["openid", "email", "profile"]);
        put.Data.GetProperty("roleClaim").GetString().ShouldBe("groups");
        put.Data.GetProperty("redirectUri").GetString().ShouldBe(_server.Origin() + "/api/v1/auth/oidc/callback");
        put.Data.GetProperty("loginUrl").GetString().ShouldBe($"{_server.Origin()}/api/v1/auth/oidc/login?org={orgId}");

        var get = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/sso");
        get.StatusCode.ShouldBe(200, get.Text);
        get.Str("issuer").ShouldBe("https://idp.example.com");
        get.Data.GetProperty("roleMappings")[0].GetProperty("role").GetString().ShouldBe("viewer");
        get.Text.ShouldNotContain(Secret);

        // Saved again without a secret: the stored one stays.
        var again = await _server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(secret: null));
        again.StatusCode.ShouldBe(200, again.Text);
        again.Data.GetProperty("hasClientSecret").GetBoolean().ShouldBeTrue();

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=sso.update");
        audit.Data.GetArrayLength().ShouldBe(2);
        audit.Text.ShouldNotContain(Secret);

        var delete = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/sso");
        delete.StatusCode.ShouldBe(200, delete.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=sso.delete")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Put_refuses_a_plain_http_issuer_off_loopback_a_missing_first_secret_an_unknown_role_and_a_bad_scope()
    {
        var orgId = await _server.CreateOrgAsync();
        var root = _server.Root;

        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "http://idp.example.com"))).ShouldHaveFieldError("issuer");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "not a url"))).ShouldHaveFieldError("issuer");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "https://idp.example.com/?tenant=1"))).ShouldHaveFieldError("issuer");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(secret: null))).ShouldHaveFieldError("clientSecret");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(defaultRoles: ["nope"]))).ShouldHaveFieldError("defaultRoles[0]");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(roleMappings: new[] { new { value = "x", role = "nope" } }))).ShouldHaveFieldError("roleMappings[0].role");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, scopes = new[] { "a b" } })).ShouldHaveFieldError("scopes[0]");
        var unknown = await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, clientSecert = "typo" });
        unknown.StatusCode.ShouldBe(400, unknown.Text);
        unknown.ErrorCode.ShouldBe("INVALID_REQUEST");

        // Loopback may use http: a provider on the same machine (development, tests).
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "http://127.0.0.1:9999"))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Private_key_jwt_makes_a_client_key_shows_only_its_public_half_and_publishes_it_until_rotated_or_dropped()
    {
        var orgId = await _server.CreateOrgAsync();
        var root = _server.Root;
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings())).Data.GetProperty("clientAuthMethod").GetString().ShouldBe("client_secret_basic");

        var put = await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse", clientAuthMethod = "private_key_jwt" });
        put.StatusCode.ShouldBe(200, put.Text);
        put.Data.GetProperty("clientAuthMethod").GetString().ShouldBe("private_key_jwt");
        put.Data.GetProperty("hasClientSecret").GetBoolean().ShouldBeFalse("the secret is dropped with the method that used it");
        var jwk = put.Data.GetProperty("clientJwks").GetProperty("keys").EnumerateArray().ShouldHaveSingleItem();
        jwk.GetProperty("kty").GetString().ShouldBe("EC");
        jwk.GetProperty("crv").GetString().ShouldBe("P-256");
        jwk.GetProperty("alg").GetString().ShouldBe("ES256");
        jwk.TryGetProperty("d", out _).ShouldBeFalse("the private half is never shown");
        var kid = jwk.GetProperty("kid").GetString()!;
        var jwksUri = put.Str("jwksUri");
        jwksUri.ShouldBe($"{_server.Origin()}/api/v1/auth/oidc/jwks?org={orgId}");

        // Published without a credential, as a provider fetches it; the same key.
        var published = await _server.Anonymous.GetAsync(new Uri(jwksUri).PathAndQuery);
        published.StatusCode.ShouldBe(200, published.Text);
        published.Header("Content-Type").ShouldNotBeNull().ShouldStartWith("application/jwk-set+json");
        published.Body.GetProperty("keys").EnumerateArray().ShouldHaveSingleItem().GetProperty("kid").GetString().ShouldBe(kid);
        published.Text.ShouldNotContain("\"d\"");

        // Saved again: the key stays. Rotated: the new one is published beside it, and signs later.
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse" }))
            .Data.GetProperty("clientJwks").GetProperty("keys")[0].GetProperty("kid").GetString().ShouldBe(kid);
        var rotated = await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse", rotateClientKey = true });
        var kids = rotated.Data.GetProperty("clientJwks").GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        kids.Count.ShouldBe(2);
        kids[0].ShouldBe(kid);
        var newKid = kids[1]!;
        rotated.Data.GetProperty("clientKeyRotatesAt").GetDateTime().ShouldBeGreaterThan(DateTime.UtcNow.AddMinutes(5));
        (await _server.Anonymous.GetAsync($"/api/v1/auth/oidc/jwks?org={orgId}")).Body.GetProperty("keys").EnumerateArray()
            .Select(k => k.GetProperty("kid").GetString()).ShouldBe(kids);
        var audit = await root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=sso.update");
        audit.Text.ShouldContain(newKid);
        audit.Text.ShouldNotContain("\"d\":");

        // Back to a secret: one is required, and the key is gone from the settings and the URI.
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse", clientAuthMethod = "client_secret_post" }))
            .ShouldHaveFieldError("clientSecret");
        var back = await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "gatehouse", clientAuthMethod = "client_secret_post", clientSecret = Secret });
        back.StatusCode.ShouldBe(200, back.Text);
        back.Data.GetProperty("clientJwks").ValueKind.ShouldBe(JsonValueKind.Null);
        back.Data.GetProperty("hasClientSecret").GetBoolean().ShouldBeTrue();
        (await _server.Anonymous.GetAsync($"/api/v1/auth/oidc/jwks?org={orgId}")).ErrorCode.ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task A_rotated_client_key_takes_over_at_its_time_and_the_old_one_leaves_the_published_set()
    {
        var clock = new FakeClock(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var sso = $"/api/v1/orgs/{orgId}/sso";
        var first = await server.Root.PutAsync(sso, new { issuer = "https://idp.example.com", clientId = "gatehouse", clientAuthMethod = "private_key_jwt" });
        var oldKid = first.Data.GetProperty("clientJwks").GetProperty("keys")[0].GetProperty("kid").GetString();
        first.Data.GetProperty("clientKeyRotatesAt").ValueKind.ShouldBe(JsonValueKind.Null, "a first key signs at once");

        var rotated = await server.Root.PutAsync(sso, new { issuer = "https://idp.example.com", clientId = "gatehouse", rotateClientKey = true });
        rotated.Data.GetProperty("clientKeyRotatesAt").GetDateTime().ShouldBe(clock.GetUtcNow().UtcDateTime.AddMinutes(10));
        var newKid = rotated.Data.GetProperty("clientJwks").GetProperty("keys")[1].GetProperty("kid").GetString();

        clock.Advance(TimeSpan.FromMinutes(9));
        (await server.Anonymous.GetAsync($"/api/v1/auth/oidc/jwks?org={orgId}")).Body.GetProperty("keys").GetArrayLength().ShouldBe(2);
        clock.Advance(TimeSpan.FromMinutes(1));
        var after = await server.Anonymous.GetAsync($"/api/v1/auth/oidc/jwks?org={orgId}");
        after.Body.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ShouldBe([newKid]);
        var settings = await server.Root.GetAsync(sso);
        settings.Data.GetProperty("clientJwks").GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ShouldBe([newKid]);
        settings.Data.GetProperty("clientKeyRotatesAt").ValueKind.ShouldBe(JsonValueKind.Null);

        // The next rotation starts from the key that took over.
        var again = await server.Root.PutAsync(sso, new { issuer = "https://idp.example.com", clientId = "gatehouse", rotateClientKey = true });
        var kids = again.Data.GetProperty("clientJwks").GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        kids.Count.ShouldBe(2);
        kids[0].ShouldBe(newKid);
        kids.ShouldNotContain(oldKid);
    }

    [Fact]
    public async Task Client_auth_settings_refuse_an_unknown_method_a_secret_with_private_key_jwt_and_a_rotation_without_a_key()
    {
        var orgId = await _server.CreateOrgAsync();
        var root = _server.Root;
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, clientAuthMethod = "tls_client_auth" }))
            .ShouldHaveFieldError("clientAuthMethod");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, clientAuthMethod = "private_key_jwt" }))
            .ShouldHaveFieldError("clientSecret");
        (await root.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, rotateClientKey = true }))
            .ShouldHaveFieldError("rotateClientKey");
        (await root.GetAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND", "nothing was saved");

        (await _server.Anonymous.GetAsync("/api/v1/auth/oidc/jwks")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Anonymous.GetAsync($"/api/v1/auth/oidc/jwks?org={orgId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Anonymous.GetAsync("/api/v1/auth/oidc/jwks?org=org_doesnotexist")).ErrorCode.ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task Another_organization_gets_404_and_changes_nothing_and_a_caller_without_the_permission_gets_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrg = await _server.CreateOrgAsync();
        (await _server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings())).StatusCode.ShouldBe(200);
        var (_, otherKey) = await _server.CreateKeyAsync(otherOrg, new { name = "other admin", permissions = new[] { "users:read", "users:write" } });
        var other = _server.CreateClient(otherKey);

        (await other.GetAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND");
        (await other.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "https://attacker.example"))).ErrorCode.ShouldBe("NOT_FOUND");
        (await other.DeleteAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/sso")).Str("issuer").ShouldBe("https://idp.example.com");

        var (_, readerKey) = await _server.CreateKeyAsync(orgId, new { name = "reader", permissions = new[] { "users:read" } });
        var reader = _server.CreateClient(readerKey);
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/sso")).StatusCode.ShouldBe(200);
        (await reader.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings())).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.DeleteAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
    }

    [Fact]
    public async Task Settings_that_would_give_strangers_a_role_the_caller_does_not_hold_are_refused()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "keymaster", permissions = new[] { "api_keys:write" } });
        var (_, userAdminKey) = await _server.CreateKeyAsync(orgId, new { name = "user admin", permissions = new[] { "users:read", "users:write" } });
        var userAdmin = _server.CreateClient(userAdminKey);

        var mapped = await userAdmin.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(roleMappings: new[] { new { value = "ops", role = "keymaster" } }));
        mapped.StatusCode.ShouldBe(403, mapped.Text);
        mapped.ErrorCode.ShouldBe("FORBIDDEN");
        (await userAdmin.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(defaultRoles: ["keymaster"]))).ErrorCode.ShouldBe("FORBIDDEN");
        (await userAdmin.PutAsync($"/api/v1/orgs/{orgId}/sso", new { issuer = "https://idp.example.com", clientId = "c", clientSecret = Secret, defaultPermissions = new[] { "api_keys:write" } }))
            .ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/sso")).ErrorCode.ShouldBe("NOT_FOUND");

        // Settings the root key made with that mapping cannot be changed by the lesser caller either.
        (await _server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(defaultRoles: ["keymaster"]))).StatusCode.ShouldBe(200);
        (await userAdmin.PutAsync($"/api/v1/orgs/{orgId}/sso", Settings(issuer: "https://attacker.example"))).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/sso")).Str("issuer").ShouldBe("https://idp.example.com");
    }
}

internal static class SsoAssertions
{
    public static void ShouldHaveFieldError(this ApiResponse response, string field)
    {
        response.StatusCode.ShouldBe(422, response.Text);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => f.GetProperty("field").GetString()).ShouldContain(field, response.Text);
    }
}
