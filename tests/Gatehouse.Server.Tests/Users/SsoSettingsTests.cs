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
