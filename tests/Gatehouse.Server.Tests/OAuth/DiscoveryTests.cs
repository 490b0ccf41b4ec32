using System.Text.Json;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>The authorization server metadata (RFC 8414) and the published signing keys.</summary>
public sealed class DiscoveryTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private string Origin => _server.BaseAddress.GetLeftPart(UriPartial.Authority);

    [Fact]
    public async Task The_metadata_names_the_issuer_the_endpoints_and_what_they_support()
    {
        var response = await _server.Anonymous.GetAsync("/.well-known/oauth-authorization-server");

        response.StatusCode.ShouldBe(200, response.Text);
        response.ShouldBeADiscoveryAnswer();
        var metadata = response.Body;
        // No issuer is configured here, so it is the request's own scheme and host.
        var issuer = metadata.GetProperty("issuer").GetString()!;
        issuer.ShouldBe(Origin);
        metadata.GetProperty("token_endpoint").GetString().ShouldBe(issuer + "/oauth/token");
        metadata.GetProperty("jwks_uri").GetString().ShouldBe(issuer + "/.well-known/jwks.json");
        metadata.GetProperty("introspection_endpoint").GetString().ShouldBe(issuer + "/oauth/introspect");
        metadata.GetProperty("revocation_endpoint").GetString().ShouldBe(issuer + "/oauth/revoke");
        metadata.GetProperty("grant_types_supported").Strings().ShouldBe(["client_credentials"]);
        metadata.GetProperty("token_endpoint_auth_methods_supported").Strings().ShouldBe(["client_secret_basic", "client_secret_post", "private_key_jwt"], ignoreOrder: true);
        metadata.GetProperty("token_endpoint_auth_signing_alg_values_supported").Strings().ShouldContain("ES256");
        metadata.GetProperty("introspection_endpoint_auth_methods_supported").Strings().ShouldContain("client_secret_basic");
        metadata.GetProperty("revocation_endpoint_auth_methods_supported").Strings().ShouldContain("client_secret_basic");
        metadata.GetProperty("scopes_supported").ValueKind.ShouldBe(JsonValueKind.Array);
        metadata.GetProperty("response_types_supported").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task The_jwks_publishes_public_ec_and_rsa_signing_keys_only()
    {
        var response = await _server.Anonymous.GetAsync("/.well-known/jwks.json");

        response.StatusCode.ShouldBe(200, response.Text);
        response.ShouldBeADiscoveryAnswer();
        var keys = response.Body.GetProperty("keys").EnumerateArray().ToList();
        keys.ShouldNotBeEmpty();
        keys.Select(k => k.GetProperty("kid").GetString()).ShouldBeUnique();
        var ec = keys.Where(k => k.GetProperty("kty").GetString() == "EC").ToList();
        var rsa = keys.Where(k => k.GetProperty("kty").GetString() == "RSA").ToList();
        ec.ShouldNotBeEmpty();
        rsa.ShouldNotBeEmpty();
        foreach (var key in ec)
        {
            key.GetProperty("crv").GetString().ShouldBe("P-256");
            key.GetProperty("alg").GetString().ShouldBe("ES256");
            key.GetProperty("x").GetString().ShouldNotBeNullOrEmpty();
            key.GetProperty("y").GetString().ShouldNotBeNullOrEmpty();
        }

        foreach (var key in rsa)
        {
            key.GetProperty("alg").GetString().ShouldBe("RS256");
            key.GetProperty("n").GetString().ShouldNotBeNullOrEmpty();
            key.GetProperty("e").GetString().ShouldNotBeNullOrEmpty();
        }

        foreach (var key in keys)
        {
            key.GetProperty("use").GetString().ShouldBe("sig");
            foreach (var secretPart in new[] { "d", "p", "q", "dp", "dq", "qi", "k" })
            {
                key.TryGetProperty(secretPart, out _).ShouldBeFalse($"a published key must not carry its private part '{secretPart}': {key}");
            }
        }
    }

    [Fact]
    public async Task A_configured_issuer_is_used_in_the_metadata_and_in_the_tokens()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:OAuth:Issuer"] = "https://auth.example.test" },
        });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var metadata = await server.MetadataAsync();
        var token = await server.AccessTokenAsync(client);

        metadata.GetProperty("issuer").GetString().ShouldBe("https://auth.example.test");
        metadata.GetProperty("token_endpoint").GetString().ShouldBe("https://auth.example.test/oauth/token");
        var claims = OAuthSteps.DecodeJwt(token).Claims;
        claims.GetProperty("iss").GetString().ShouldBe("https://auth.example.test");
        (await server.CreateClient(token).GetAsync($"/api/v1/orgs/{orgId}/oauth-clients")).StatusCode.ShouldBe(403);
    }
}
