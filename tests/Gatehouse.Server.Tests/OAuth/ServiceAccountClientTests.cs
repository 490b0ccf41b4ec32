using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.ServiceAccounts;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>An OAuth client owned by a service account: bounded by the account's permissions, stopped and ended with it.</summary>
public sealed class ServiceAccountClientTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private Task<RegisteredClient> CreateAccountClientAsync(string orgId, string accountId, string[] scopes) =>
        _server.CreateOAuthClientAsync(orgId, new { name = "owned-" + Guid.NewGuid().ToString("N")[..8], scopes, serviceAccountId = accountId });

    [Fact]
    public async Task A_client_of_a_service_account_is_created_within_the_accounts_permissions()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["oauth_clients:read", "deploy:*"]);

        var client = await CreateAccountClientAsync(orgId, accountId, ["oauth_clients:read", "deploy:write"]);
        var beyond = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "greedy", scopes = new[] { "oauth_clients:read", "api_keys:write" }, serviceAccountId = accountId });

        client.Created.Str("serviceAccountId").ShouldBe(accountId);
        (await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}")).Str("serviceAccountId").ShouldBe(accountId);
        beyond.StatusCode.ShouldBe(422, beyond.Text);
        beyond.ErrorCode.ShouldBe("VALIDATION_FAILED");
        beyond.FieldErrors().ShouldContain(f => f.StartsWith("scopes", StringComparison.Ordinal));
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId))).Data.GetArrayLength().ShouldBe(1);
        var token = await _server.AccessTokenAsync(client);
        (await _server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Widening_an_account_clients_scopes_beyond_the_account_is_422()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["deploy:read"]);
        var client = await CreateAccountClientAsync(orgId, accountId, ["deploy:read"]);

        var widened = await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}", new { scopes = new[] { "deploy:read", "deploy:write" } });

        widened.StatusCode.ShouldBe(422, widened.Text);
        widened.ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}")).Data.GetProperty("scopes").Strings().ShouldBe(["deploy:read"]);
    }

    [Fact]
    public async Task An_unknown_service_account_is_422_on_its_field()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync(OAuthSteps.ClientsPath(orgId), new { name = "orphan", scopes = new[] { "deploy:read" }, serviceAccountId = "sa_" + Guid.NewGuid().ToString("N") });

        response.StatusCode.ShouldBe(422, response.Text);
        response.FieldErrors().ShouldContain(f => f.StartsWith("serviceAccountId", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Disabling_the_account_stops_its_clients_and_their_tokens_and_enabling_it_lets_them_work_again()
    {
        // A clock that stands still: everything below happens within one second, as it can in production.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = new FakeClock() });
        var orgId = await server.CreateOrgAsync();
        var (accountId, _, _) = await server.CreateServiceAccountAsync(orgId, ["oauth_clients:read"]);
        var client = await server.CreateOAuthClientAsync(orgId, new { name = "owned", scopes = new[] { "oauth_clients:read" }, serviceAccountId = accountId });
        var token = await server.AccessTokenAsync(client);
        var accountPath = $"/api/v1/orgs/{orgId}/service-accounts/{accountId}";
        (await server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);

        (await server.Root.PatchAsync(accountPath, new { disabled = true })).StatusCode.ShouldBe(200);

        var refused = await server.TokenWithBasicAsync(client.Id, client.Secret!);
        refused.StatusCode.ShouldBe(401, refused.Text);
        refused.OAuthError().ShouldBe("invalid_client");
        (await server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(401);
        (await server.IntrospectAsync(client, token)).StatusCode.ShouldBe(401);
        (await (await server.OrgClientAsync(orgId, "oauth_clients:read")).IntrospectAsync(token)).IsExactlyInactive().ShouldBeTrue();

        (await server.Root.PatchAsync(accountPath, new { disabled = false })).StatusCode.ShouldBe(200);

        // A token issued after enabling works, whatever second it falls in.
        var fresh = await server.AccessTokenAsync(client);
        (await server.CreateClient(fresh).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
        (await server.IntrospectAsync(client, fresh)).IsActive().ShouldBeTrue();
    }

    [Fact]
    public async Task Deleting_the_account_deletes_its_clients_and_ends_their_tokens()
    {
        var orgId = await _server.CreateOrgAsync();
        var (accountId, _, _) = await _server.CreateServiceAccountAsync(orgId, ["oauth_clients:read"]);
        var client = await CreateAccountClientAsync(orgId, accountId, ["oauth_clients:read"]);
        var bystander = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var reader = await _server.OrgClientAsync(orgId, "oauth_clients:read");

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}")).StatusCode.ShouldBe(200);

        (await _server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync(OAuthSteps.ClientsPath(orgId))).Data.EnumerateArray().Select(c => c.GetProperty("id").GetString()).ShouldBe([bystander.Id]);
        (await _server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(401);
        (await reader.IntrospectAsync(token)).IsExactlyInactive().ShouldBeTrue();
        (await _server.TokenWithBasicAsync(client.Id, client.Secret!)).OAuthError().ShouldBe("invalid_client");
        (await _server.TokenWithBasicAsync(bystander.Id, bystander.Secret!)).StatusCode.ShouldBe(200);
    }
}
