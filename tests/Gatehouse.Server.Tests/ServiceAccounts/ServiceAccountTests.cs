using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.ServiceAccounts;

/// <summary>The service account routes: each success, each error code, and another organization's accounts.</summary>
public sealed class ServiceAccountTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Creating_a_service_account_returns_it_with_its_first_key_once_owned_by_it_and_holding_its_permissions()
    {
        var orgId = await _server.CreateOrgAsync();

        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "deployer", description = "CI", permissions = new[] { "deploy:write", "api_keys:read" } });

        created.StatusCode.ShouldBe(201, created.Text);
        var account = created.Data.GetProperty("serviceAccount");
        var accountId = account.GetProperty("id").GetString()!;
        accountId.ShouldStartWith("sa_");
        account.GetProperty("name").GetString().ShouldBe("deployer");
        account.GetProperty("description").GetString().ShouldBe("CI");
        account.GetProperty("disabled").GetBoolean().ShouldBeFalse();
        account.GetProperty("permissions").Strings().ShouldBe(["deploy:write", "api_keys:read"]);
        var key = created.Data.GetProperty("key");
        key.GetProperty("ownerId").GetString().ShouldBe(accountId);
        key.GetProperty("ownerSuspended").GetBoolean().ShouldBeFalse();
        key.GetProperty("permissions").Strings().ShouldBe(["deploy:write", "api_keys:read"]);
        var secret = key.GetProperty("key").GetString()!;

        // The key works, and the secret is never shown again.
        var own = await _server.CreateClient(secret).GetAsync($"/api/v1/orgs/{orgId}/api-keys?ownerId={accountId}");
        own.StatusCode.ShouldBe(200, own.Text);
        own.Data.GetArrayLength().ShouldBe(1);
        own.Text.ShouldNotContain(secret);
        (await _server.AuditCountAsync(orgId, "service_account.create", accountId)).ShouldBe(1);
        (await _server.AuditCountAsync(orgId, "api_key.create", key.GetProperty("id").GetString())).ShouldBe(1);
    }

    [Fact]
    public async Task The_admin_route_and_its_seed_alias_create_a_service_account_of_the_named_organization()
    {
        var orgId = await _server.CreateOrgAsync();

        var canonical = await _server.Root.PostAsync("/api/v1/admin/service-accounts", new { orgId, name = "one", permissions = new[] { "deploy:read" } });
        var alias = await _server.Root.PostAsync("/api/v1/admin/service-account/create", new { orgId, name = "two", permissions = new[] { "deploy:read" } });

        canonical.StatusCode.ShouldBe(201, canonical.Text);
        alias.StatusCode.ShouldBe(201, alias.Text);
        foreach (var response in new[] { canonical, alias })
        {
            response.Data.GetProperty("serviceAccount").GetProperty("orgId").GetString().ShouldBe(orgId);
            response.Data.GetProperty("key").GetProperty("key").GetString()!.ShouldStartWith("gk_");
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task The_admin_route_is_root_only_and_checks_the_organization()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "*");

        var byOrgAdmin = await admin.PostAsync("/api/v1/admin/service-accounts", new { orgId, name = "x", permissions = new[] { "deploy:read" } });
        var unknownOrg = await _server.Root.PostAsync("/api/v1/admin/service-accounts", new { orgId = "org_" + Guid.NewGuid().ToString("N"), name = "x", permissions = new[] { "deploy:read" } });
        var missingOrg = await _server.Root.PostAsync("/api/v1/admin/service-accounts", new { name = "x", permissions = new[] { "deploy:read" } });
        var anonymous = await _server.Anonymous.PostAsync("/api/v1/admin/service-accounts", new { orgId, name = "x", permissions = new[] { "deploy:read" } });

        byOrgAdmin.StatusCode.ShouldBe(403, byOrgAdmin.Text);
        unknownOrg.ErrorCode.ShouldBe("VALIDATION_FAILED", unknownOrg.Text);
        unknownOrg.FieldErrors().ShouldBe(["orgId: no organization with this id exists"]);
        missingOrg.ErrorCode.ShouldBe("VALIDATION_FAILED", missingOrg.Text);
        anonymous.StatusCode.ShouldBe(401);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Bad_fields_are_422_a_wrong_type_is_400_and_nothing_is_created()
    {
        var orgId = await _server.CreateOrgAsync();
        var path = $"/api/v1/orgs/{orgId}/service-accounts";

        var missing = await _server.Root.PostAsync(path, new { description = "no name" });
        var malformed = await _server.Root.PostAsync(path, new { name = "bad", permissions = new[] { "NOT OK" } });
        var tooLong = await _server.Root.PostAsync(path, new { name = new string('n', 101), permissions = Array.Empty<string>() });
        var wrongType = await _server.Root.PostAsync(path, new { name = 5, permissions = Array.Empty<string>() });
        var unknownField = await _server.Root.PostAsync(path, new { name = "x", permissions = Array.Empty<string>(), permisions = new[] { "*" } });

        missing.ErrorCode.ShouldBe("VALIDATION_FAILED");
        missing.FieldErrors().ShouldBe(["name: required", "permissions: required"], ignoreOrder: true);
        malformed.FieldErrors().ShouldBe(["permissions[0]: must match [a-z0-9_.:*-]{1,128}"]);
        tooLong.FieldErrors().ShouldBe(["name: must be at most 100 characters"]);
        wrongType.ErrorCode.ShouldBe("INVALID_REQUEST");
        unknownField.ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Root.GetAsync(path)).Data.GetArrayLength().ShouldBe(0);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_duplicate_name_is_409_on_create_and_on_rename()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.CreateServiceAccountAsync(orgId, ["deploy:read"], "taken");
        var (otherId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read"], "other");

        var again = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "taken", permissions = Array.Empty<string>() });
        var rename = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{otherId}", new { name = "taken" });

        again.ErrorCode.ShouldBe("CONFLICT");
        rename.ErrorCode.ShouldBe("CONFLICT");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{otherId}")).Str("name").ShouldBe("other");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task Reading_needs_service_accounts_read_and_writing_needs_service_accounts_write()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read"]);
        var reader = await _server.OrgClientAsync(orgId, "service_accounts:read");
        var nobody = await _server.OrgClientAsync(orgId, "deploy:read");

        (await reader.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).StatusCode.ShouldBe(200);
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).Str("id").ShouldBe(accountId);
        var list = await nobody.GetAsync($"/api/v1/orgs/{orgId}/service-accounts");
        list.ErrorCode.ShouldBe("FORBIDDEN");
        var patch = await reader.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { description = "changed" });
        patch.ErrorCode.ShouldBe("FORBIDDEN");
        patch.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("service_accounts:write");
        (await reader.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "x", permissions = Array.Empty<string>() })).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).StatusCode.ShouldBe(401);
        (await _server.CreateClient("gk_notakey").GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).ErrorCode.ShouldBe("INVALID_API_KEY");
    }

    [Fact]
    public async Task Listing_pages_and_rejects_bad_paging()
    {
        var orgId = await _server.CreateOrgAsync();
        for (var i = 0; i < 3; i++)
        {
            await _server.CreateServiceAccountAsync(orgId, ["deploy:read"], $"robot-{i}");
        }

        var page = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts?limit=2&sort=createdAt");
        var bad = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts?limit=0");

        page.Data.GetArrayLength().ShouldBe(2);
        page.Data[0].GetProperty("name").GetString().ShouldBe("robot-0");
        page.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(3);
        bad.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task Update_changes_name_description_and_permissions_with_one_audit_event()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read", "deploy:write"]);

        var updated = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}",
            new { name = "renamed", description = "nightly", permissions = new[] { "deploy:read", "deploy:write", "reports:read" } });

        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Str("name").ShouldBe("renamed");
        updated.Str("description").ShouldBe("nightly");
        updated.Data.GetProperty("permissions").Strings().ShouldBe(["deploy:read", "deploy:write", "reports:read"]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).Str("name").ShouldBe("renamed");
        (await _server.AuditCountAsync(orgId, "service_account.update", accountId)).ShouldBe(1);
        var invalid = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { name = " ", permissions = new[] { "BAD" } });
        invalid.ErrorCode.ShouldBe("VALIDATION_FAILED");
        invalid.FieldErrors().ShouldBe(["name: required", "permissions[0]: must match [a-z0-9_.:*-]{1,128}"], ignoreOrder: true);
    }

    [Fact]
    public async Task Narrowing_below_what_a_live_key_holds_is_409_naming_the_key_and_changes_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, keyId, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read", "deploy:write"]);

        var narrowed = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { permissions = new[] { "deploy:read" } });

        narrowed.ErrorCode.ShouldBe("CONFLICT", narrowed.Text);
        narrowed.Body.GetProperty("error").GetProperty("details").GetProperty("keyIds").Strings().ShouldBe([keyId]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).Data.GetProperty("permissions").Strings().ShouldBe(["deploy:read", "deploy:write"]);

        // Once the key is narrowed (or revoked) the account can be narrowed too.
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}", new { permissions = new[] { "deploy:read" } })).StatusCode.ShouldBe(200);
        var after = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { permissions = new[] { "deploy:read" } });
        after.StatusCode.ShouldBe(200, after.Text);
    }

    [Fact]
    public async Task A_caller_cannot_give_a_service_account_or_take_from_it_what_the_caller_does_not_hold()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["orgs:write"]);
        var manager = await _server.OrgClientAsync(orgId, "service_accounts:write", "service_accounts:read", "deploy:*");

        var create = await manager.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "greedy", permissions = new[] { "api_keys:write" } });
        var disable = await manager.PatchAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}", new { disabled = true });
        var delete = await manager.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}");
        var fine = await manager.PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = "modest", permissions = new[] { "deploy:read" } });

        create.ErrorCode.ShouldBe("FORBIDDEN");
        create.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:write");
        disable.ErrorCode.ShouldBe("FORBIDDEN");
        delete.ErrorCode.ShouldBe("FORBIDDEN");
        fine.StatusCode.ShouldBe(201, fine.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts")).Data.GetArrayLength().ShouldBe(2);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).Data.GetProperty("disabled").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Another_organizations_service_account_is_404_on_every_route_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (accountB, keyB, _) = await _server.CreateServiceAccountAsync(orgB, ["deploy:read"], "b-robot");
        var adminA = await _server.OrgClientAsync(orgA, "*");
        var before = (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/service-accounts/{accountB}")).Data.GetRawText();

        foreach (var orgId in new[] { orgA, orgB })
        {
            var path = $"/api/v1/orgs/{orgId}/service-accounts/{accountB}";
            (await adminA.GetAsync(path)).ErrorCode.ShouldBe("NOT_FOUND");
            (await adminA.PatchAsync(path, new { disabled = true })).ErrorCode.ShouldBe("NOT_FOUND");
            (await adminA.DeleteAsync(path)).ErrorCode.ShouldBe("NOT_FOUND");
            (await adminA.PostAsync(path + "/keys", new { name = "intruder" })).ErrorCode.ShouldBe("NOT_FOUND");
        }

        (await adminA.GetAsync($"/api/v1/orgs/{orgB}/service-accounts")).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.PostAsync($"/api/v1/orgs/{orgB}/service-accounts", new { name = "intruder", permissions = Array.Empty<string>() })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/service-accounts/{accountB}")).Data.GetRawText().ShouldBe(before);
        var keys = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/api-keys?includeRevoked=true");
        keys.Data.EnumerateArray().Select(k => k.GetProperty("id").GetString()).ShouldBe([keyB]);
        keys.Data[0].GetProperty("revokedAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task Deleting_the_organization_erases_its_service_accounts_and_stats_count_them()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, keyId, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read"]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats")).Data.GetProperty("serviceAccounts").GetInt64().ShouldBe(1);

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).StatusCode.ShouldBe(404);
        using var connection = _server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM service_accounts WHERE org_id = @org";
        Gatehouse.Server.Platform.Storage.DatabaseLock.AddParameter(command, "@org", orgId);
        Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture).ShouldBe(0);
        _ = keyId;
    }
}
