using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.ServiceAccounts;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// /oauth/introspect (RFC 7662) and /oauth/revoke (RFC 7009): who may ask, what an active token
/// shows, and every way a token stops being active (revoked, client deleted or disabled, expired).
/// </summary>
public sealed class IntrospectionAndRevocationTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    /// <summary>A route the test tokens may call: listing the organization's OAuth clients.</summary>
    private static string ProbePath(string orgId) => OAuthSteps.ClientsPath(orgId);

    [Fact]
    public async Task The_owning_client_sees_an_active_token_with_its_claims()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read", "deploy:read"], tokenTtlSeconds: 600);
        var issuer = (await _server.MetadataAsync()).GetProperty("issuer").GetString()!;
        var token = await _server.AccessTokenAsync(client);
        var claims = OAuthSteps.DecodeJwt(token).Claims;

        var response = await _server.IntrospectAsync(client, token);

        response.StatusCode.ShouldBe(200, response.Text);
        response.ShouldBeAProtocolAnswer();
        var body = response.Body;
        body.GetProperty("active").GetBoolean().ShouldBeTrue();
        OAuthSteps.ScopeSet(body.GetProperty("scope").GetString()).ShouldBe(["deploy:read", "oauth_clients:read"]);
        body.GetProperty("client_id").GetString().ShouldBe(client.Id);
        body.GetProperty("sub").GetString().ShouldBe(client.Id);
        body.GetProperty("iss").GetString().ShouldBe(issuer);
        var aud = body.GetProperty("aud");
        (aud.ValueKind == System.Text.Json.JsonValueKind.Array ? aud.Strings() : [aud.GetString()!]).ShouldBe([issuer]);
        body.GetProperty("exp").GetInt64().ShouldBe(claims.GetProperty("exp").GetInt64());
        body.GetProperty("iat").GetInt64().ShouldBe(claims.GetProperty("iat").GetInt64());
        body.GetProperty("jti").GetString().ShouldBe(claims.GetProperty("jti").GetString());
        body.GetProperty("token_type").GetString().ShouldBe("Bearer");
        body.GetProperty("org_id").GetString().ShouldBe(orgId);
    }

    [Fact]
    public async Task The_client_may_authenticate_by_post_and_by_a_signed_assertion_as_at_the_token_endpoint()
    {
        var orgId = await _server.CreateOrgAsync();
        var posting = await _server.CreateSecretClientAsync(orgId, ["deploy:read"], method: "client_secret_post");
        using var key = new ClientKey();
        var keyed = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var postToken = (await _server.TokenWithPostAsync(posting.Id, posting.Secret!)).Body.GetProperty("access_token").GetString()!;
        var introspectEndpoint = (await _server.MetadataAsync()).GetProperty("introspection_endpoint").GetString()!;
        var tokenEndpoint = (await _server.MetadataAsync()).GetProperty("token_endpoint").GetString()!;
        var keyedToken = (await _server.TokenWithAssertionAsync(key.Assertion(keyed.Id, tokenEndpoint, DateTimeOffset.UtcNow))).Body.GetProperty("access_token").GetString()!;

        var byPost = await _server.Anonymous.PostFormAsync("/oauth/introspect", OAuthSteps.Form(("token", postToken), ("client_id", posting.Id), ("client_secret", posting.Secret!)));
        var byAssertion = await _server.Anonymous.PostFormAsync("/oauth/introspect", OAuthSteps.Form(
            ("token", keyedToken), ("client_assertion_type", OAuthSteps.AssertionType),
            ("client_assertion", key.Assertion(keyed.Id, tokenEndpoint, DateTimeOffset.UtcNow))));

        byPost.IsActive().ShouldBeTrue(byPost.Text);
        byAssertion.IsActive().ShouldBeTrue(byAssertion.Text);
        introspectEndpoint.ShouldEndWith("/oauth/introspect");
    }

    [Fact]
    public async Task An_api_key_with_oauth_clients_read_of_the_organization_sees_the_token_active()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var token = await _server.AccessTokenAsync(client);
        var reader = await _server.OrgClientAsync(orgId, "oauth_clients:read");

        var response = await reader.IntrospectAsync(token);

        response.IsActive().ShouldBeTrue(response.Text);
        response.Body.GetProperty("client_id").GetString().ShouldBe(client.Id);
        response.ShouldBeAProtocolAnswer();
    }

    [Fact]
    public async Task Another_organization_sees_exactly_inactive_whether_it_asks_by_key_or_by_client()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var clientA = await _server.CreateSecretClientAsync(orgA, ["deploy:read"]);
        var clientB = await _server.CreateSecretClientAsync(orgB, ["deploy:read"]);
        var tokenA = await _server.AccessTokenAsync(clientA);
        var readerB = await _server.OrgClientAsync(orgB, "oauth_clients:read", "oauth_clients:write");

        var byKey = await readerB.IntrospectAsync(tokenA);
        var byClient = await _server.IntrospectAsync(clientB, tokenA);

        byKey.IsExactlyInactive().ShouldBeTrue(byKey.Text);
        byClient.IsExactlyInactive().ShouldBeTrue(byClient.Text);
        byKey.Text.ShouldNotContain(orgA);
        (await _server.IntrospectAsync(clientA, tokenA)).IsActive().ShouldBeTrue();
    }

    [Fact]
    public async Task A_garbage_token_is_exactly_inactive_and_no_credential_is_invalid_client()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var token = await _server.AccessTokenAsync(client);

        var garbage = await _server.IntrospectAsync(client, "not-a-token");
        var tokenShaped = await _server.IntrospectAsync(client, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvY2xfMSJ9.c2lnbmF0dXJl");
        var apiKeyAsToken = await _server.IntrospectAsync(client, (await _server.CreateKeyAsync(orgId)).Key);
        var anonymous = await _server.Anonymous.PostFormAsync("/oauth/introspect", OAuthSteps.Form(("token", token)));
        var wrongSecret = await _server.Anonymous.PostFormAsync("/oauth/introspect", OAuthSteps.Form(("token", token)), OAuthSteps.BasicHeader(client.Id, "gcs_" + new string('B', 43)));

        garbage.IsExactlyInactive().ShouldBeTrue(garbage.Text);
        tokenShaped.IsExactlyInactive().ShouldBeTrue(tokenShaped.Text);
        apiKeyAsToken.IsExactlyInactive().ShouldBeTrue(apiKeyAsToken.Text);
        foreach (var refused in new[] { anonymous, wrongSecret })
        {
            refused.StatusCode.ShouldBe(401, refused.Text);
            refused.OAuthError().ShouldBe("invalid_client");
            refused.ShouldBeAProtocolAnswer();
            refused.Text.ShouldNotContain("active");
        }
    }

    [Fact]
    public async Task A_revoked_token_is_inactive_and_refused_by_the_api_while_its_siblings_still_work()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var sibling = await _server.AccessTokenAsync(client);
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);

        var revoked = await _server.RevokeAsync(client, token);

        revoked.StatusCode.ShouldBe(200, revoked.Text);
        revoked.Text.ShouldBeEmpty();
        revoked.Header("Cache-Control")!.ShouldContain("no-store");
        (await _server.IntrospectAsync(client, token)).IsExactlyInactive().ShouldBeTrue();
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
        (await _server.IntrospectAsync(client, sibling)).IsActive().ShouldBeTrue();
        (await _server.CreateClient(sibling).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);
        (await _server.AuditCountAsync(orgId, "oauth_token.revoke")).ShouldBe(1);

        // Revoking again, or revoking something that was never a token, is still 200 (RFC 7009 §2.2).
        (await _server.RevokeAsync(client, token)).StatusCode.ShouldBe(200);
        var unknown = await _server.RevokeAsync(client, "never-issued");
        unknown.StatusCode.ShouldBe(200, unknown.Text);
        unknown.Text.ShouldBeEmpty();
    }

    [Fact]
    public async Task An_api_key_with_oauth_clients_write_of_the_organization_may_revoke()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var writer = await _server.OrgClientAsync(orgId, "oauth_clients:write");

        var revoked = await writer.PostFormAsync("/oauth/revoke", OAuthSteps.Form(("token", token), ("token_type_hint", "access_token")));

        revoked.StatusCode.ShouldBe(200, revoked.Text);
        (await _server.IntrospectAsync(client, token)).IsExactlyInactive().ShouldBeTrue();
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Neither_another_client_nor_another_organization_can_revoke_a_token()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var owner = await _server.CreateSecretClientAsync(orgA, ["oauth_clients:read"]);
        var neighbour = await _server.CreateSecretClientAsync(orgA, ["oauth_clients:read"]);
        var stranger = await _server.CreateSecretClientAsync(orgB, ["oauth_clients:read"]);
        var writerB = await _server.OrgClientAsync(orgB, "oauth_clients:write");
        var token = await _server.AccessTokenAsync(owner);

        var attempts = new[]
        {
            await _server.RevokeAsync(neighbour, token),
            await _server.RevokeAsync(stranger, token),
            await writerB.PostFormAsync("/oauth/revoke", OAuthSteps.Form(("token", token))),
        };

        // RFC 7009 lets the answer be 200 or an error; what matters is that the token lives on.
        foreach (var attempt in attempts)
        {
            attempt.StatusCode.ShouldBeLessThan(500, attempt.Text);
        }

        (await _server.IntrospectAsync(owner, token)).IsActive().ShouldBeTrue();
        (await _server.CreateClient(token).GetAsync(ProbePath(orgA))).StatusCode.ShouldBe(200);
        (await _server.AuditCountAsync(orgA, "oauth_token.revoke")).ShouldBe(0);
    }

    [Fact]
    public async Task Revoking_without_a_credential_is_invalid_client()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);

        var anonymous = await _server.Anonymous.PostFormAsync("/oauth/revoke", OAuthSteps.Form(("token", token)));

        anonymous.StatusCode.ShouldBe(401, anonymous.Text);
        anonymous.OAuthError().ShouldBe("invalid_client");
        (await _server.IntrospectAsync(client, token)).IsActive().ShouldBeTrue();
    }

    [Fact]
    public async Task Deleting_the_client_ends_its_tokens_on_the_next_request()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var reader = await _server.OrgClientAsync(orgId, "oauth_clients:read");
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);

        (await _server.Root.DeleteAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}")).StatusCode.ShouldBe(200);

        (await reader.IntrospectAsync(token)).IsExactlyInactive().ShouldBeTrue();
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Disabling_the_client_ends_its_tokens_and_refuses_new_ones()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var token = await _server.AccessTokenAsync(client);
        var reader = await _server.OrgClientAsync(orgId, "oauth_clients:read");
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);

        (await _server.Root.PatchAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}", new { disabled = true })).StatusCode.ShouldBe(200);

        (await reader.IntrospectAsync(token)).IsExactlyInactive().ShouldBeTrue();
        (await _server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
        var refused = await _server.TokenWithBasicAsync(client.Id, client.Secret!);
        refused.StatusCode.ShouldBe(401, refused.Text);
        refused.OAuthError().ShouldBe("invalid_client");
    }

    [Fact]
    public async Task A_token_issued_after_the_client_is_enabled_again_works_even_within_the_same_second()
    {
        // A clock that stands still: disabling, enabling and a new token all in one second, as can happen in production.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = new FakeClock() });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var old = await server.AccessTokenAsync(client);
        var path = $"{OAuthSteps.ClientsPath(orgId)}/{client.Id}";

        (await server.Root.PatchAsync(path, new { disabled = true })).StatusCode.ShouldBe(200);
        (await server.Root.PatchAsync(path, new { disabled = false })).StatusCode.ShouldBe(200);
        var fresh = await server.AccessTokenAsync(client);

        (await server.CreateClient(old).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
        (await server.IntrospectAsync(client, fresh)).IsActive().ShouldBeTrue();
        (await server.CreateClient(fresh).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task An_expired_token_is_inactive_and_refused_from_its_exp_on()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["oauth_clients:read"], tokenTtlSeconds: 60);
        var token = await server.AccessTokenAsync(client);
        var exp = DateTimeOffset.FromUnixTimeSeconds(OAuthSteps.DecodeJwt(token).Claims.GetProperty("exp").GetInt64());
        exp.ShouldBe(clock.GetUtcNow().AddSeconds(60));

        clock.Set(exp.AddSeconds(-1));
        (await server.IntrospectAsync(client, token)).IsActive().ShouldBeTrue();
        (await server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(200);

        // RFC 7519 §4.1.4: the token must not be accepted on or after its exp.
        clock.Set(exp);
        (await server.IntrospectAsync(client, token)).IsExactlyInactive().ShouldBeTrue();
        (await server.CreateClient(token).GetAsync(ProbePath(orgId))).StatusCode.ShouldBe(401);
    }
}
