using System.Text.Json;

namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class CreateApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_key_is_created_with_every_field_and_returned_once()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "reader", permissions = new[] { "docs:read" } });

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new
        {
            name = "ci",
            permissions = new[] { "docs:write" },
            roles = new[] { "reader" },
            expiresAt = "2099-01-01T00:00:00Z",
            prefix = "acme",
            ownerId = "user_42",
            meta = new { plan = "pro", seats = 3 },
            remaining = 100,
            refill = new { interval = "monthly", amount = 100, day = 15 },
            ratelimits = new[] { new { name = "default", limit = 10, durationMs = 60000 } },
            ipAllowlist = new[] { "10.0.0.0/8", "2001:db8::/32" },
            enabled = false,
        });

        response.StatusCode.ShouldBe(201, response.Text);
        var key = response.Str("key");
        key.ShouldStartWith("acme_");
        Gatehouse.Crypto.ApiKeyFormat.IsWellFormed(key).ShouldBeTrue();
        response.Str("id").ShouldStartWith("key_");
        response.Str("orgId").ShouldBe(orgId);
        response.Str("start").ShouldBe(key[..9]);
        response.Data.GetProperty("permissions").Strings().ShouldBe(["docs:write"]);
        response.Data.GetProperty("roles").Strings().ShouldBe(["reader"]);
        response.Str("expiresAt").ShouldBe("2099-01-01T00:00:00Z");
        response.Str("ownerId").ShouldBe("user_42");
        response.Data.GetProperty("meta").GetProperty("plan").GetString().ShouldBe("pro");
        response.Data.GetProperty("remaining").GetInt64().ShouldBe(100);
        response.Data.GetProperty("refill").GetProperty("day").GetInt32().ShouldBe(15);
        response.Data.GetProperty("ratelimits")[0].GetProperty("limit").GetInt64().ShouldBe(10);
        response.Data.GetProperty("ipAllowlist").Strings().ShouldBe(["10.0.0.0/8", "2001:db8::/32"]);
        response.Data.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        response.Data.GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.Null);

        var read = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{response.Str("id")}");
        read.Data.TryGetProperty("key", out _).ShouldBeFalse();
        read.Text.ShouldNotContain(key);
    }

    [Fact]
    public async Task The_prefix_comes_from_the_body_then_the_org_settings_then_gk()
    {
        var plain = await _server.CreateOrgAsync();
        var custom = (await _server.Root.PostAsync("/api/v1/orgs", new { name = "Prefixed", settings = new { keyPrefix = "pfx" } })).Str("id");

        (await _server.CreateKeyAsync(plain)).Key.ShouldStartWith("gk_");
        (await _server.CreateKeyAsync(custom)).Key.ShouldStartWith("pfx_");
        (await _server.CreateKeyAsync(custom, new { name = "x", permissions = Array.Empty<string>(), prefix = "own" })).Key.ShouldStartWith("own_");
    }

    [Fact]
    public async Task Every_invalid_field_is_reported_as_422_and_nothing_is_created()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new
        {
            name = "",
            permissions = new[] { "Bad Perm" },
            roles = new[] { "no such role!" },
            expiresAt = "2001-01-01T00:00:00Z",
            prefix = "Not_OK",
            ownerId = new string('o', 300),
            remaining = -1,
            refill = new { interval = "weekly", amount = -5, day = 40 },
            ratelimits = new object[] { new { name = "a", limit = 0, durationMs = 10 }, new { name = "a", limit = 1, durationMs = 1000 } },
            ipAllowlist = new[] { "300.1.1.1", "10.0.0.1/8", "::1/129" },
        });

        response.StatusCode.ShouldBe(422, response.Text);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe([
            "permissions[0]", "name", "prefix", "roles[0]", "expiresAt", "ownerId", "remaining", "refill.interval", "refill.amount", "refill.day",
            "ratelimits[0].limit", "ratelimits[0].durationMs", "ratelimits[1].name", "ipAllowlist[0]", "ipAllowlist[1]", "ipAllowlist[2]"], ignoreOrder: true);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Name_is_required()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { });

        response.StatusCode.ShouldBe(422);
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe(["name"]);
    }

    [Fact]
    public async Task A_key_created_without_permissions_has_none_and_verifies()
    {
        var orgId = await _server.CreateOrgAsync();

        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "identity-only" });

        created.StatusCode.ShouldBe(201, created.Text);
        created.Data.GetProperty("permissions").GetArrayLength().ShouldBe(0);
        var verdict = await _server.Root.VerifyAsync(new { key = created.Str("key") });
        verdict.Code().ShouldBe("VALID");
        (await _server.Root.VerifyAsync(new { key = created.Str("key"), permissions = "docs:read" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        (await _server.CreateClient(created.Str("key")).GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(403);
    }

    [Fact]
    public async Task A_role_that_does_not_exist_in_the_org_is_422()
    {
        var orgId = await _server.CreateOrgAsync();
        var other = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{other}/roles", new { name = "elsewhere", permissions = new[] { "x" } });

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = Array.Empty<string>(), roles = new[] { "elsewhere" } });

        response.StatusCode.ShouldBe(422);
        response.Text.ShouldContain("roles[0]");
    }

    [Fact]
    public async Task A_wrong_type_is_400()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = "not-a-list" });

        response.StatusCode.ShouldBe(400);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task Without_credential_it_is_401_and_without_permission_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        var anonymous = await _server.Anonymous.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = Array.Empty<string>() });
        var forbidden = await reader.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = Array.Empty<string>() });

        anonymous.StatusCode.ShouldBe(401);
        forbidden.StatusCode.ShouldBe(403);
        forbidden.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:write");
    }

    [Fact]
    public async Task An_org_key_creates_keys_in_its_own_org_but_cannot_grant_platform_permissions_it_lacks()
    {
        var orgId = await _server.CreateOrgAsync();
        var writer = await _server.OrgClientAsync(orgId, "api_keys:write", "api_keys:read");

        var ok = await writer.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "child", permissions = new[] { "api_keys:read", "docs:anything" } });
        var escalation = await writer.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "admin", permissions = new[] { "*" } });
        var viaShorthand = await writer.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "admin", permissions = new[] { "write" } });

        ok.StatusCode.ShouldBe(201, ok.Text);
        escalation.StatusCode.ShouldBe(403);
        viaShorthand.StatusCode.ShouldBe(403);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?q=admin")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_refill_without_remaining_starts_at_the_refill_amount()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = Array.Empty<string>(), refill = new { interval = "daily", amount = 7 } });

        response.Data.GetProperty("remaining").GetInt64().ShouldBe(7);
    }
}
