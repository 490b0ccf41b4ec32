using System.Net;
using System.Text.Json;
using Gatehouse.Client;
using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.Audit;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Contracts.Roles;
using Gatehouse.Contracts.ServiceAccounts;
using Gatehouse.Contracts.Users;
using Gatehouse.Contracts.Vault;
using Gatehouse.Contracts.Webhooks;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>Each sub-client's main calls against the real server, and the typed errors of the envelope.</summary>
public sealed class SdkRoundTripTests(SharedServer shared) : IDisposable
{
    private readonly GatehouseClient _root = SdkHarness.Client(shared.Server, GatehouseServer.RootKey);

    private GatehouseServer Server => shared.Server;

    public void Dispose() => _root.Dispose();

    private async Task<string> OrgAsync() => (await _root.Organizations.CreateAsync(new CreateOrgRequest { Name = "SDK " + Guid.NewGuid().ToString("N")[..8] })).Id;

    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    [Fact]
    public async Task Organizations_and_tenants_round_trip()
    {
        var slug = "sdk-" + Guid.NewGuid().ToString("N")[..10];
        var created = await _root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Acme", Slug = slug });

        (await _root.Organizations.GetAsync(created.Id)).Slug.ShouldBe(slug);
        (await _root.Organizations.UpdateAsync(created.Id, new UpdateOrgRequest { Name = "Acme Two" })).Name.ShouldBe("Acme Two");
        (await _root.Organizations.ListAsync(new OrgListQuery { Q = slug })).Items.Single().Id.ShouldBe(created.Id);
        (await _root.Organizations.GetStatsAsync(created.Id)).ShouldNotBeEmpty();
        (await _root.Tenants.GetAsync(slug)).Id.ShouldBe(created.Id);

        (await _root.Organizations.DeleteAsync(created.Id)).Id.ShouldBe(created.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Organizations.GetAsync(created.Id));
    }

    [Fact]
    public async Task Api_keys_create_read_update_verify_rotate_and_revoke()
    {
        var orgId = await OrgAsync();
        var issued = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "ci", Permissions = ["deploy:write", "env:prod"], Remaining = 10 });
        issued.Key.ShouldStartWith("gk_");

        (await _root.ApiKeys.GetAsync(orgId, issued.Id)).Start.ShouldBe(issued.Start);
        (await _root.ApiKeys.ListAsync(orgId, new ApiKeyListQuery { Q = "ci" })).Items.Single().Id.ShouldBe(issued.Id);
        var updated = await _root.ApiKeys.UpdateAsync(orgId, issued.Id, new UpdateApiKeyRequest { Name = "ci-deploy", Remaining = Json(5) });
        updated.Name.ShouldBe("ci-deploy");
        updated.Remaining.ShouldBe(5);

        var valid = await _root.VerifyAsync(issued.Key, "deploy:write AND env:prod");
        valid.Valid.ShouldBeTrue();
        valid.KeyId.ShouldBe(issued.Id);
        valid.Remaining.ShouldBe(4);
        (await _root.ApiKeys.VerifyAsync(issued.Key, "deploy:write AND env:staging")).Code.ShouldBe(VerifyCodes.InsufficientPermissions);
        (await _root.ApiKeys.VerifyAsync(new VerifyApiKeyRequest { Key = issued.Key, Cost = 0 })).Remaining.ShouldBe(4);
        (await _root.ApiKeys.ValidateAsync(orgId, issued.Id, issued.Key)).Valid.ShouldBeTrue();
        (await _root.ApiKeys.GetUsageAsync(orgId, issued.Id, granularity: "day")).KeyId.ShouldBe(issued.Id);

        var rotated = await _root.ApiKeys.RotateAsync(orgId, issued.Id);
        rotated.Id.ShouldNotBe(issued.Id);
        (await _root.VerifyAsync(rotated.Key)).Valid.ShouldBeTrue();
        (await _root.VerifyAsync(issued.Key)).Code.ShouldBe(VerifyCodes.Expired);

        await _root.ApiKeys.RevokeAsync(orgId, rotated.Id);
        (await _root.VerifyAsync(rotated.Key)).Code.ShouldBe(VerifyCodes.Revoked);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.ApiKeys.RevokeAsync(orgId, rotated.Id));
    }

    [Fact]
    public async Task Every_page_of_a_list_is_walked_by_ListAllAsync()
    {
        var orgId = await OrgAsync();
        for (var i = 0; i < 5; i++)
        {
            await _root.Roles.CreateAsync(orgId, new CreateRoleRequest { Name = $"role-{i}", Permissions = ["docs:read"] });
        }

        var first = await _root.Roles.ListAsync(orgId, new ListQuery { Limit = 2 });
        first.Items.Count.ShouldBe(2);
        first.Pagination.Total.ShouldBe(5);
        first.Pagination.HasMore.ShouldBeTrue();

        var names = new List<string>();
        await foreach (var role in _root.Roles.ListAllAsync(orgId, new ListQuery { Limit = 2, Sort = "createdAt" }))
        {
            names.Add(role.Name);
        }

        names.ShouldBe(["role-0", "role-1", "role-2", "role-3", "role-4"]);
    }

    [Fact]
    public async Task Roles_and_the_permission_catalog_round_trip()
    {
        var orgId = await OrgAsync();
        var role = await _root.Roles.CreateAsync(orgId, new CreateRoleRequest { Name = "deployer", Permissions = ["deploy:write"] });

        (await _root.Roles.GetAsync(orgId, role.Id)).Permissions.ShouldBe(["deploy:write"]);
        (await _root.Roles.UpdateAsync(orgId, role.Id, new UpdateRoleRequest { Description = "ships it" })).Description.ShouldBe("ships it");
        (await _root.Roles.DeleteAsync(orgId, role.Id)).Id.ShouldBe(role.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Roles.GetAsync(orgId, role.Id));
        (await _root.Permissions.ListAsync()).ShouldContain(p => p.Name == "api_keys:verify");
    }

    [Fact]
    public async Task Vault_put_list_get_reveal_versions_and_delete()
    {
        var orgId = await OrgAsync();
        var stored = await _root.Credentials.PutAsync(orgId, new CreateCredentialRequest
        {
            IntegrationId = "stripe",
            AuthType = "api_key",
            Name = "live",
            Data = new() { ["apiKey"] = Json("sk_live_1") },
        });

        (await _root.Credentials.ListAsync(orgId, new CredentialListQuery { IntegrationId = "stripe" })).Items.Single().Id.ShouldBe(stored.Id);
        await _root.Credentials.UpdateAsync(orgId, "stripe", stored.Id, new UpdateCredentialRequest { Data = new() { ["apiKey"] = Json("sk_live_2") } });
        (await _root.Credentials.GetAsync(orgId, "stripe")).Single().Version.ShouldBe(2);
        (await _root.Credentials.GetVersionsAsync(orgId, "stripe", stored.Id)).Select(v => v.Version).ShouldBe([1, 2], ignoreOrder: true);
        (await _root.Credentials.RevealAsync(orgId, "stripe")).Single().Data!["apiKey"].GetString().ShouldBe("sk_live_2");
        (await _root.Credentials.RevealAsync(orgId, "stripe", stored.Id)).Data!["apiKey"].GetString().ShouldBe("sk_live_2");

        await _root.Credentials.DeleteAsync(orgId, "stripe", stored.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Credentials.RevealAsync(orgId, "stripe", stored.Id));
    }

    [Fact]
    public async Task Webhooks_endpoints_test_deliveries_redeliver_and_rotate()
    {
        var orgId = await OrgAsync();
        (await _root.Webhooks.ListEventTypesAsync()).ShouldContain(e => e.Type == "api_key.created");
        var hook = await _root.Webhooks.CreateAsync(orgId, new CreateWebhookRequest { Url = "http://127.0.0.1:9/hook", Events = ["api_key.created"] });
        hook.Secret.ShouldStartWith("whsec_");

        var delivery = await _root.Webhooks.TestAsync(orgId, hook.Id);
        delivery.EventType.ShouldBe("webhook.test");
        (await _root.Webhooks.ListDeliveriesAsync(orgId, hook.Id)).Items.ShouldContain(d => d.Id == delivery.Id);
        (await _root.Webhooks.RedeliverAsync(orgId, hook.Id, delivery.Id)).EventId.ShouldBe(delivery.EventId);
        (await _root.Webhooks.RotateSecretAsync(orgId, hook.Id)).Secret.ShouldNotBe(hook.Secret);
        (await _root.Webhooks.UpdateAsync(orgId, hook.Id, new UpdateWebhookRequest { Enabled = false })).Enabled.ShouldBeFalse();
        (await _root.Webhooks.ListAsync(orgId)).Items.Single().Id.ShouldBe(hook.Id);
        await _root.Webhooks.DeleteAsync(orgId, hook.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Webhooks.GetAsync(orgId, hook.Id));
    }

    [Fact]
    public async Task Audit_lists_exports_and_verifies_the_chain()
    {
        var orgId = await OrgAsync();
        var key = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "audited" });
        var query = new AuditLogQuery { Action = "api_key.*" };

        var page = await _root.Audit.ListAsync(orgId, query);
        page.Items.ShouldContain(e => e.Action == "api_key.create" && e.Target!.Id == key.Id);
        var exported = new List<AuditEventView>();
        await foreach (var auditEvent in _root.Audit.ExportAsync(orgId, query))
        {
            exported.Add(auditEvent);
        }

        exported.Select(e => e.Id).ShouldBe(page.Items.Select(e => e.Id), ignoreOrder: true);
        (await _root.Audit.VerifyChainAsync(orgId)).Valid.ShouldBeTrue();
        (await _root.Audit.ListPlatformAsync(new AuditLogQuery { OrgId = orgId, Action = "api_key.create" })).Items.Single().Target!.Id.ShouldBe(key.Id);
    }

    [Fact]
    public async Task Users_log_in_and_service_accounts_own_keys_and_oauth_clients()
    {
        var orgId = await OrgAsync();
        var email = $"ada-{Guid.NewGuid():N}@example.com";
        var user = await _root.Users.CreateAsync(orgId, new CreateUserRequest { Email = email, Name = "Ada", Password = "correct horse battery staple 42", Permissions = ["orgs:read"] });
        (await _root.Users.ListAsync(orgId, new UserListQuery { Email = email })).Items.Single().Id.ShouldBe(user.Id);
        using var anonymous = SdkHarness.Client(Server, null);
        var login = await anonymous.Auth.LoginAsync(new LoginRequest { Email = email, Password = "correct horse battery staple 42", OrgId = orgId });
        using var session = SdkHarness.Client(Server, login.Token);
        (await session.Auth.GetSessionAsync()).User.Id.ShouldBe(user.Id);
        (await _root.Users.UpdateAsync(orgId, user.Id, new UpdateUserRequest { Name = "Ada L." })).Name.ShouldBe("Ada L.");
        await _root.Users.DeleteAsync(orgId, user.Id);

        var account = await _root.ServiceAccounts.CreateAsync(orgId, new CreateServiceAccountRequest { Name = "deployer", Permissions = ["deploy:write"] });
        var second = await _root.ServiceAccounts.CreateKeyAsync(orgId, account.ServiceAccount.Id, new CreateApiKeyRequest { Name = "second", Permissions = ["deploy:write"] });
        second.OwnerId.ShouldBe(account.ServiceAccount.Id);
        var client = await _root.OAuthClients.CreateAsync(orgId, new CreateOAuthClientRequest { Name = "ci", Scopes = ["deploy:write"], ServiceAccountId = account.ServiceAccount.Id });
        client.ClientSecret.ShouldNotBeNullOrEmpty();
        (await _root.OAuthClients.RotateSecretAsync(orgId, client.Id)).ClientSecret.ShouldNotBe(client.ClientSecret);
        (await _root.OAuthClients.ListAsync(orgId)).Items.Single().Id.ShouldBe(client.Id);

        await _root.ServiceAccounts.DeleteAsync(orgId, account.ServiceAccount.Id);
        (await _root.VerifyAsync(second.Key)).Valid.ShouldBeFalse();
    }

    [Fact]
    public async Task Health_admin_health_and_the_keyring_answer()
    {
        (await _root.Health.GetAsync()).Status.ShouldBe("healthy");
        (await _root.Health.IsReadyAsync()).ShouldBeTrue();
        (await _root.Admin.GetHealthAsync()).Components.Keys.ShouldContain("database");
        (await _root.Admin.GetKeyringAsync()).ShouldNotBeNull();
    }

    [Fact]
    public async Task Error_envelopes_become_typed_exceptions_with_code_status_and_request_id()
    {
        var orgId = await OrgAsync();
        var notFound = await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.ApiKeys.GetAsync(orgId, "key_00000000000000000000000000"));
        notFound.Code.ShouldBe(ErrorCodes.NotFound);
        notFound.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        notFound.RequestId.ShouldNotBeNullOrEmpty();

        var reader = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "reader", Permissions = ["roles:read"] });
        using var readOnly = SdkHarness.Client(Server, reader.Key);
        var forbidden = await Should.ThrowAsync<GatehouseForbiddenException>(() => readOnly.Roles.CreateAsync(orgId, new CreateRoleRequest { Name = "x", Permissions = [] }));
        forbidden.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        forbidden.Details.GetProperty("required").ToString().ShouldContain("roles:write");

        var invalid = await Should.ThrowAsync<GatehouseValidationException>(() => _root.Organizations.CreateAsync(new CreateOrgRequest { Name = "" }));
        invalid.Code.ShouldBe(ErrorCodes.ValidationFailed);
        invalid.StatusCode.ShouldBe((HttpStatusCode)422);
        invalid.Fields.ShouldContain(f => f.Field == "name");

        await _root.Roles.CreateAsync(orgId, new CreateRoleRequest { Name = "twice", Permissions = [] });
        var conflict = await Should.ThrowAsync<GatehouseConflictException>(() => _root.Roles.CreateAsync(orgId, new CreateRoleRequest { Name = "twice", Permissions = [] }));
        conflict.StatusCode.ShouldBe(HttpStatusCode.Conflict);

        using var stranger = SdkHarness.Client(Server, "gk_not_a_real_key");
        (await Should.ThrowAsync<GatehouseAuthenticationException>(() => stranger.Organizations.ListAsync())).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Another_organizations_key_is_not_found_and_stays_unchanged()
    {
        var orgA = await OrgAsync();
        var orgB = await OrgAsync();
        var keyOfB = await _root.ApiKeys.CreateAsync(orgB, new CreateApiKeyRequest { Name = "b-key" });
        var adminOfA = await _root.ApiKeys.CreateAsync(orgA, new CreateApiKeyRequest { Name = "a-admin", Permissions = ["api_keys:read", "api_keys:write"] });
        using var clientA = SdkHarness.Client(Server, adminOfA.Key);

        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.ApiKeys.GetAsync(orgB, keyOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.ApiKeys.RevokeAsync(orgB, keyOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.ApiKeys.GetAsync(orgA, keyOfB.Id));

        (await _root.VerifyAsync(keyOfB.Key)).Valid.ShouldBeTrue();
    }

    [Fact]
    public async Task AddGatehouseClient_registers_a_client_from_options()
    {
        var services = new ServiceCollection();
        services.AddGatehouseClient(o =>
        {
            o.BaseUrl = Server.BaseAddress.ToString();
            o.ApiKey = GatehouseServer.RootKey;
        });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<GatehouseClient>();

        (await client.Organizations.CreateAsync(new CreateOrgRequest { Name = "From DI" })).Name.ShouldBe("From DI");
    }
}
