using System.Text.Json;

namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class UpdateApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_field_can_be_changed_and_cleared()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r1", permissions = new[] { "x" } });
        var (id, _) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "a" }, ownerId = "o", expiresAt = "2099-01-01T00:00:00Z", remaining = 5, meta = new { a = 1 } });
        var path = $"/api/v1/orgs/{orgId}/api-keys/{id}";

        var changed = await _server.Root.PatchAsync(path, new
        {
            name = "renamed",
            permissions = new[] { "b", "c" },
            roles = new[] { "r1" },
            enabled = false,
            ratelimits = new[] { new { name = "burst", limit = 3, durationMs = 1000 } },
            ipAllowlist = new[] { "192.168.0.0/16" },
            refill = new { interval = "daily", amount = 50 },
        });
        changed.StatusCode.ShouldBe(200, changed.Text);
        changed.Str("name").ShouldBe("renamed");
        changed.Data.GetProperty("permissions").Strings().ShouldBe(["b", "c"]);
        changed.Data.GetProperty("roles").Strings().ShouldBe(["r1"]);
        changed.Data.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        changed.Data.GetProperty("ratelimits")[0].GetProperty("name").GetString().ShouldBe("burst");
        changed.Data.GetProperty("ipAllowlist").Strings().ShouldBe(["192.168.0.0/16"]);
        changed.Data.GetProperty("refill").GetProperty("amount").GetInt64().ShouldBe(50);
        changed.Data.GetProperty("remaining").GetInt64().ShouldBe(5);
        changed.Str("ownerId").ShouldBe("o");

        var cleared = await _server.Root.PatchAsync(path, new { expiresAt = (string?)null, ownerId = (string?)null, meta = (object?)null, remaining = (long?)null, refill = (object?)null });
        cleared.StatusCode.ShouldBe(200, cleared.Text);
        foreach (var field in new[] { "expiresAt", "ownerId", "meta", "remaining", "refill" })
        {
            cleared.Data.GetProperty(field).ValueKind.ShouldBe(JsonValueKind.Null, field);
        }

        var read = await _server.Root.GetAsync(path);
        read.Str("name").ShouldBe("renamed");
        read.Data.GetProperty("remaining").ValueKind.ShouldBe(JsonValueKind.Null);
        var audit = await _server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().ReadAuditActionsAsync(orgId);
        audit.Count(a => a == "api_key.update").ShouldBe(2);
    }

    [Fact]
    public async Task Invalid_fields_are_422_and_nothing_changes()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "a" } });
        var path = $"/api/v1/orgs/{orgId}/api-keys/{id}";

        var response = await _server.Root.PatchAsync(path, new
        {
            name = " ",
            permissions = new[] { "UPPER" },
            roles = new[] { "missing" },
            expiresAt = "2000-01-01T00:00:00Z",
            remaining = -3,
            refill = new { interval = "daily" },
            ownerId = 12,
            ipAllowlist = new[] { "nope" },
        });

        response.StatusCode.ShouldBe(422, response.Text);
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe(["permissions[0]", "name", "ipAllowlist[0]", "ownerId", "expiresAt", "remaining", "refill.amount", "roles[0]"], ignoreOrder: true);
        var read = await _server.Root.GetAsync(path);
        read.Str("name").ShouldBe("k");
        read.Data.GetProperty("permissions").Strings().ShouldBe(["a"]);
    }

    [Fact]
    public async Task An_unknown_or_revoked_key_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId);
        await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");

        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { name = "x" })).StatusCode.ShouldBe(404);
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/key_01JD0000000000000000000000", new { name = "x" })).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Without_api_keys_write_it_is_403()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId);
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        var response = await reader.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { name = "x" });

        response.StatusCode.ShouldBe(403);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Str("name").ShouldBe("test key");
    }

    [Fact]
    public async Task Disabling_takes_effect_on_the_very_next_verify_and_enabling_again_too()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId);
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { enabled = false });
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("DISABLED");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { enabled = true });
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task New_permissions_apply_on_the_very_next_verify()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "docs:read" } });
        (await _server.Root.VerifyAsync(new { key, permissions = "docs:read" })).Code().ShouldBe("VALID");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { permissions = new[] { "docs:write" } });

        (await _server.Root.VerifyAsync(new { key, permissions = "docs:read" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        (await _server.Root.VerifyAsync(new { key, permissions = "docs:write" })).Code().ShouldBe("VALID");
    }
}

public sealed class UpdateApiKeyCreditsTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Clearing_remaining_while_a_refill_is_set_is_422_and_nothing_changes()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 4, refill = new { interval = "daily", amount = 9 } });

        var response = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { remaining = (long?)null, name = "changed" });

        response.StatusCode.ShouldBe(422);
        var read = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}");
        read.Data.GetProperty("remaining").GetInt64().ShouldBe(4);
        read.Str("name").ShouldBe("k");
    }

    [Fact]
    public async Task Setting_remaining_takes_effect_on_the_next_verify()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 0 });
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{id}", new { remaining = 1 });

        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("USAGE_EXCEEDED");
    }
}
