using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.ServiceAccounts;

/// <summary>A service account's keys follow it: disabled they stop, enabled they resume, deleted they are revoked.</summary>
public sealed class ServiceAccountLifecycleTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Disabling_stops_the_accounts_keys_on_the_next_request_and_enabling_resumes_them()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, keyId, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:read", "deploy:write"]);
        var robot = _server.CreateClient(secret);
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        // Warm the cache: the next answers must come from the change, not from a first read.
        (await robot.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);
        (await verifier.VerifyAsync(new { key = secret })).Code().ShouldBe("VALID");

        var disabled = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });

        disabled.StatusCode.ShouldBe(200, disabled.Text);
        disabled.Data.GetProperty("disabled").GetBoolean().ShouldBeTrue();
        var verdict = await verifier.VerifyAsync(new { key = secret });
        verdict.Code().ShouldBe("DISABLED");
        verdict.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        (await robot.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).ErrorCode.ShouldBe("INVALID_API_KEY");
        var view = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}");
        view.Data.GetProperty("ownerSuspended").GetBoolean().ShouldBeTrue();
        view.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();

        var enabled = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = false });

        enabled.StatusCode.ShouldBe(200, enabled.Text);
        (await verifier.VerifyAsync(new { key = secret })).Code().ShouldBe("VALID");
        (await robot.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).StatusCode.ShouldBe(200);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}")).Data.GetProperty("ownerSuspended").GetBoolean().ShouldBeFalse();
        (await _server.AuditCountAsync(orgId, "service_account.update", accountId)).ShouldBe(2);
    }

    [Fact]
    public async Task Resuming_restores_each_keys_own_enabled_flag_exactly()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, secret) = await _server.CreateServiceAccountAsync(orgId, ["deploy:write"]);
        var (offKeyId, offSecret) = await _server.CreateKeyAsync(orgId, new { name = "off", permissions = new[] { "deploy:write" }, ownerId = accountId, enabled = false });
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });
        // The owner's state decides: enabling the key itself does not bring it back.
        var enableKey = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{offKeyId}", new { enabled = true });
        enableKey.StatusCode.ShouldBe(200, enableKey.Text);
        enableKey.Data.GetProperty("ownerSuspended").GetBoolean().ShouldBeTrue();
        (await verifier.VerifyAsync(new { key = offSecret })).Code().ShouldBe("DISABLED");
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{offKeyId}", new { enabled = false })).StatusCode.ShouldBe(200);

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = false });

        (await verifier.VerifyAsync(new { key = secret })).Code().ShouldBe("VALID");
        (await verifier.VerifyAsync(new { key = offSecret })).Code().ShouldBe("DISABLED");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{offKeyId}")).Data.GetProperty("enabled").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Rotating_a_suspended_key_gives_a_suspended_successor_with_the_same_owner()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, keyId, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:write"]);
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });

        var rotated = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}/rotate", new { });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Str("ownerId").ShouldBe(accountId);
        rotated.Data.GetProperty("ownerSuspended").GetBoolean().ShouldBeTrue();
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        (await verifier.VerifyAsync(new { key = rotated.Str("key") })).Code().ShouldBe("DISABLED");
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = false });
        (await verifier.VerifyAsync(new { key = rotated.Str("key") })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task Deleting_revokes_every_key_of_the_account_with_an_audit_event_each_and_a_second_delete_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, firstKeyId, secret) = await _server.CreateServiceAccountAsync(orgId, ["api_keys:read"]);
        var (secondKeyId, secondSecret) = await _server.CreateKeyAsync(orgId, new { name = "second", permissions = new[] { "deploy:read" }, ownerId = accountId });
        var (bystanderId, bystander) = await _server.CreateKeyAsync(orgId, new { name = "bystander", permissions = new[] { "deploy:read" } });
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        (await verifier.VerifyAsync(new { key = secret })).Code().ShouldBe("VALID");

        var deleted = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}");

        deleted.StatusCode.ShouldBe(200, deleted.Text);
        deleted.Str("id").ShouldBe(accountId);
        (await verifier.VerifyAsync(new { key = secret })).Code().ShouldBe("REVOKED");
        (await verifier.VerifyAsync(new { key = secondSecret })).Code().ShouldBe("REVOKED");
        (await verifier.VerifyAsync(new { key = bystander })).Code().ShouldBe("VALID");
        (await _server.CreateClient(secret).GetAsync($"/api/v1/orgs/{orgId}/api-keys")).ErrorCode.ShouldBe("INVALID_API_KEY");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).ErrorCode.ShouldBe("NOT_FOUND");
        foreach (var keyId in new[] { firstKeyId, secondKeyId })
        {
            (await _server.AuditCountAsync(orgId, "api_key.revoke", keyId)).ShouldBe(1);
        }

        (await _server.AuditCountAsync(orgId, "api_key.revoke", bystanderId)).ShouldBe(0);
        (await _server.AuditCountAsync(orgId, "service_account.delete", accountId)).ShouldBe(1);
    }

    [Fact]
    public async Task The_accounts_key_route_issues_keys_it_owns_within_its_permissions()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:*", "api_keys:read"]);
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "too-much", permissions = new[] { "orgs:write" } });
        var path = $"/api/v1/orgs/{orgId}/service-accounts/{accountId}/keys";

        var issued = await _server.Root.PostAsync(path, new { name = "ci", permissions = new[] { "deploy:write" } });
        var beyond = await _server.Root.PostAsync(path, new { name = "ci", permissions = new[] { "orgs:read" } });
        var beyondByRole = await _server.Root.PostAsync(path, new { name = "ci", roles = new[] { "too-much" } });
        var otherOwner = await _server.Root.PostAsync(path, new { name = "ci", ownerId = "usr_someone" });
        var missingName = await _server.Root.PostAsync(path, new { permissions = new[] { "deploy:write" } });
        var unknown = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts/sa_unknown/keys", new { name = "ci" });

        issued.StatusCode.ShouldBe(201, issued.Text);
        issued.Str("ownerId").ShouldBe(accountId);
        issued.Str("key").ShouldStartWith("gk_");
        beyond.FieldErrors().ShouldBe(["permissions: 'orgs:read' is not granted by the service account's permissions"]);
        beyondByRole.FieldErrors().ShouldBe(["permissions: 'orgs:write' is not granted by the service account's permissions"]);
        otherOwner.FieldErrors().ShouldBe(["ownerId: must be absent or this service account's id"]);
        missingName.FieldErrors().ShouldBe(["name: required"]);
        unknown.ErrorCode.ShouldBe("NOT_FOUND");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });
        (await _server.Root.PostAsync(path, new { name = "while off" })).ErrorCode.ShouldBe("CONFLICT");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?ownerId={accountId}")).Data.GetArrayLength().ShouldBe(2);
    }
}
