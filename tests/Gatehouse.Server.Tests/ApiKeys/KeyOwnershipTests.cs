using Gatehouse.Server.Tests.ServiceAccounts;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>
/// No escalation through ownership: a key owned by X creates keys owned by X only, so disabling
/// or deleting X reaches every key it issued. Unowned (admin) keys name any owner.
/// </summary>
public sealed class KeyOwnershipTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_key_created_by_an_owned_key_is_owned_by_the_same_owner()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:write", "deploy:write"]);
        var robot = _server.CreateClient(secret);

        var child = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "child", permissions = new[] { "deploy:write" } });
        var named = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "named", permissions = new[] { "deploy:write" }, ownerId = accountId });

        child.StatusCode.ShouldBe(201, child.Text);
        child.Str("ownerId").ShouldBe(accountId);
        named.StatusCode.ShouldBe(201, named.Text);
        named.Str("ownerId").ShouldBe(accountId);

        // The child follows its owner: disabling the account stops it too.
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        (await verifier.VerifyAsync(new { key = child.Str("key") })).Code().ShouldBe("DISABLED");
    }

    [Fact]
    public async Task An_owned_key_naming_another_owner_is_422_and_creates_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:write", "api_keys:read", "deploy:write"]);
        var robot = _server.CreateClient(secret);

        var other = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "escape", permissions = new[] { "deploy:write" }, ownerId = "sa_somebody_else" });

        other.ErrorCode.ShouldBe("VALIDATION_FAILED", other.Text);
        other.FieldErrors().ShouldBe(["ownerId: must_be_own"]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?ownerId=sa_somebody_else")).Data.GetArrayLength().ShouldBe(0);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?ownerId={accountId}")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task An_owned_key_cannot_move_a_key_to_another_owner_or_to_none()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:write", "deploy:write"]);
        var robot = _server.CreateClient(secret);
        var child = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "child", permissions = new[] { "deploy:write" } });
        var path = $"/api/v1/orgs/{orgId}/api-keys/{child.Str("id")}";

        var cleared = await robot.PatchAsync(path, new { ownerId = (string?)null });
        var moved = await robot.PatchAsync(path, new { ownerId = "usr_other" });
        var kept = await robot.PatchAsync(path, new { ownerId = accountId, name = "still mine" });

        cleared.FieldErrors().ShouldBe(["ownerId: must_be_own"]);
        moved.FieldErrors().ShouldBe(["ownerId: must_be_own"]);
        kept.StatusCode.ShouldBe(200, kept.Text);
        (await _server.Root.GetAsync(path)).Str("ownerId").ShouldBe(accountId);
    }

    [Fact]
    public async Task An_owned_key_cannot_create_a_service_account_whose_keys_would_outlive_its_owner()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["service_accounts:write", "deploy:write"]);

        var attempt = await _server.CreateClient(secret).PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "offspring", permissions = new[] { "deploy:write" } });

        attempt.ErrorCode.ShouldBe("FORBIDDEN", attempt.Text);
        attempt.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("owned_credential");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Unowned_admin_keys_and_root_name_any_owner_as_a_free_string()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "api_keys:write", "deploy:write");

        var byAdmin = await admin.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "for a customer", permissions = new[] { "deploy:write" }, ownerId = "customer-42" });
        var unowned = await admin.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "nobody's", permissions = new[] { "deploy:write" } });

        byAdmin.StatusCode.ShouldBe(201, byAdmin.Text);
        byAdmin.Str("ownerId").ShouldBe("customer-42");
        unowned.Data.TryGetProperty("ownerId", out var owner).ShouldBeTrue();
        owner.ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        var moved = await admin.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{unowned.Str("id")}", new { ownerId = "customer-43" });
        moved.Str("ownerId").ShouldBe("customer-43");
    }

    [Fact]
    public async Task Rotating_a_key_keeps_its_owner()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:write", "deploy:write"]);
        var robot = _server.CreateClient(secret);
        var child = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "child", permissions = new[] { "deploy:write" } });

        var rotated = await robot.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{child.Str("id")}/rotate", new { });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Str("ownerId").ShouldBe(accountId);
    }
}
