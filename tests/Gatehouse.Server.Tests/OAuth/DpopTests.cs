using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// DPoP (RFC 9449) over HTTP: a token requested with a proof is bound to the proof's key, and is
/// accepted only with the DPoP scheme and a fresh proof of that key for the very request.
/// </summary>
public sealed class DpopTests(SharedServer shared)
{
    private GatehouseServer Server => shared.Server;

    [Fact]
    public async Task A_token_requested_with_a_proof_is_bound_to_the_proofs_key_and_says_so()
    {
        var (orgId, client) = await ClientAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var token = await TokenAsync(client, Proof(key, "POST", Url("/oauth/token")));

        token.StatusCode.ShouldBe(200, token.Text);
        token.Body.GetProperty("token_type").GetString().ShouldBe("DPoP");
        var accessToken = token.Body.GetProperty("access_token").GetString()!;
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(accessToken.Split('.')[1])).RootElement;
        claims.GetProperty("cnf").GetProperty("jkt").GetString().ShouldBe(Thumbprint(key));

        var introspection = await FormAsync("/oauth/introspect", $"token={accessToken}", client);
        introspection.Body.GetProperty("active").GetBoolean().ShouldBeTrue(introspection.Text);
        introspection.Body.GetProperty("token_type").GetString().ShouldBe("DPoP");
        introspection.Body.GetProperty("cnf").GetProperty("jkt").GetString().ShouldBe(Thumbprint(key));
        introspection.Body.GetProperty("org_id").GetString().ShouldBe(orgId);

        var metadata = await Server.Anonymous.GetAsync("/.well-known/oauth-authorization-server");
        metadata.Body.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()).ShouldContain("ES256");
    }

    [Fact]
    public async Task A_bound_token_works_only_with_the_DPoP_scheme_and_a_fresh_proof_of_its_key_for_this_request()
    {
        var (orgId, client) = await ClientAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var accessToken = (await TokenAsync(client, Proof(key, "POST", Url("/oauth/token")))).Body.GetProperty("access_token").GetString()!;
        var path = $"/api/v1/orgs/{orgId}/api-keys";
        var ath = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

        var proof = Proof(key, "GET", Url(path), ath);
        (await UseAsync(path, "DPoP " + accessToken, proof)).StatusCode.ShouldBe(200);
        // Each refusal: a 401 with the envelope, whatever is wrong.
        (await UseAsync(path, "DPoP " + accessToken, proof)).StatusCode.ShouldBe(401, "a replayed proof");
        (await UseAsync(path, "Bearer " + accessToken, Proof(key, "GET", Url(path), ath))).StatusCode.ShouldBe(401, "the Bearer scheme");
        (await UseAsync(path, "DPoP " + accessToken, null)).StatusCode.ShouldBe(401, "no proof");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "POST", Url(path), ath))).StatusCode.ShouldBe(401, "another method");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url("/api/v1/orgs"), ath))).StatusCode.ShouldBe(401, "another URL");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url(path), "AAAA"))).StatusCode.ShouldBe(401, "another token's hash");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url(path), null))).StatusCode.ShouldBe(401, "no token hash");
        (await UseAsync(path, "DPoP " + accessToken, Proof(otherKey, "GET", Url(path), ath))).StatusCode.ShouldBe(401, "another key");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url(path), ath, iatOffsetSeconds: -3600))).StatusCode.ShouldBe(401, "an old proof");
        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url(path), ath))).StatusCode.ShouldBe(200, "a fresh proof still works");
    }

    [Fact]
    public async Task An_unbound_token_is_refused_under_the_DPoP_scheme()
    {
        var (orgId, client) = await ClientAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = await TokenAsync(client, proof: null);
        token.Body.GetProperty("token_type").GetString().ShouldBe("Bearer");
        var accessToken = token.Body.GetProperty("access_token").GetString()!;
        var path = $"/api/v1/orgs/{orgId}/api-keys";
        var ath = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

        (await UseAsync(path, "DPoP " + accessToken, Proof(key, "GET", Url(path), ath))).StatusCode.ShouldBe(401);
        (await UseAsync(path, "Bearer " + accessToken, null)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task The_token_endpoint_refuses_a_bad_proof_with_invalid_dpop_proof()
    {
        var (_, client) = await ClientAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        foreach (var (proof, why) in new[]
        {
            (Proof(key, "POST", Url("/oauth/introspect")), "another URL"),
            (Proof(key, "GET", Url("/oauth/token")), "another method"),
            (Proof(key, "POST", Url("/oauth/token"), iatOffsetSeconds: 3600), "iat in the future"),
            (Proof(key, "POST", Url("/oauth/token"), includePrivateKey: true), "a private key in the header"),
            (Proof(key, "POST", Url("/oauth/token"), type: "JWT"), "the wrong typ"),
            ("not-a-jwt", "garbage"),
        })
        {
            var response = await TokenAsync(client, proof);
            response.StatusCode.ShouldBe(400, $"{why}: {response.Text}");
            response.Body.GetProperty("error").GetString().ShouldBe("invalid_dpop_proof", why);
            response.Header("Cache-Control").ShouldBe("no-store");
        }

        var replayed = Proof(key, "POST", Url("/oauth/token"));
        (await TokenAsync(client, replayed)).StatusCode.ShouldBe(200);
        (await TokenAsync(client, replayed)).Body.GetProperty("error").GetString().ShouldBe("invalid_dpop_proof", "a replayed proof");
    }

    private string Url(string path) => new Uri(Server.BaseAddress, path).ToString();

    private async Task<(string OrgId, (string Id, string Secret) Client)> ClientAsync()
    {
        var orgId = await Server.CreateOrgAsync();
        var created = await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", new { name = "dpop", scopes = new[] { "api_keys:read" } });
        created.StatusCode.ShouldBe(201, created.Text);
        return (orgId, (created.Str("clientId"), created.Str("clientSecret")));
    }

    [Fact]
    public async Task A_proof_accepted_by_one_node_is_refused_by_another()
    {
        Assert.SkipUnless(TestDatabase.PostgresRequested, "PostgreSQL only: two servers share one database");
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-dpop-pair-").FullName;
        // Behind one load balancer both nodes answer at the same public URL: the issuer the proofs name.
        var options = new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:OAuth:Issuer"] = "https://auth.example.test" } };
        await using var first = await GatehouseServer.StartAsync(options, database);
        await using var second = await GatehouseServer.StartAsync(options, database);
        var orgId = await first.CreateOrgAsync();
        var created = await first.Root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", new { name = "dpop", scopes = new[] { "api_keys:read" } });
        var client = (created.Str("clientId"), created.Str("clientSecret"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = Proof(key, "POST", "https://auth.example.test/oauth/token");

        (await TokenAsync(first, client, proof)).StatusCode.ShouldBe(200);
        var replayed = await TokenAsync(second, client, proof);

        replayed.StatusCode.ShouldBe(400, replayed.Text);
        replayed.Body.GetProperty("error").GetString().ShouldBe("invalid_dpop_proof");
        replayed.Body.GetProperty("error_description").GetString()!.ShouldContain("already used");
        var fresh = await TokenAsync(second, client, Proof(key, "POST", "https://auth.example.test/oauth/token"));
        fresh.StatusCode.ShouldBe(200, fresh.Text);
    }

    private Task<ApiResponse> TokenAsync((string Id, string Secret) client, string? proof) => TokenAsync(Server, client, proof);

    private static Task<ApiResponse> TokenAsync(GatehouseServer server, (string Id, string Secret) client, string? proof)
    {
        var headers = new Dictionary<string, string>();
        if (proof is not null)
        {
            headers["DPoP"] = proof;
        }

        return FormAsync(server, "/oauth/token", "grant_type=client_credentials", client, headers);
    }

    private Task<ApiResponse> FormAsync(string path, string body, (string Id, string Secret) client, Dictionary<string, string>? headers = null) =>
        FormAsync(Server, path, body, client, headers);

    private static Task<ApiResponse> FormAsync(GatehouseServer server, string path, string body, (string Id, string Secret) client, Dictionary<string, string>? headers = null)
    {
        headers ??= [];
        headers["Authorization"] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client.Id}:{client.Secret}"));
        return server.Anonymous.SendRawAsync(HttpMethod.Post, path, body, "application/x-www-form-urlencoded", headers);
    }

    private Task<ApiResponse> UseAsync(string path, string authorization, string? proof)
    {
        var headers = new Dictionary<string, string> { ["Authorization"] = authorization };
        if (proof is not null)
        {
            headers["DPoP"] = proof;
        }

        return Server.Anonymous.GetAsync(path, headers);
    }

    private static Dictionary<string, string> PublicJwk(ECDsa key)
    {
        var parameters = key.ExportParameters(false);
        return new(StringComparer.Ordinal)
        {
            ["crv"] = "P-256",
            ["kty"] = "EC",
            ["x"] = Base64Url.EncodeToString(parameters.Q.X),
            ["y"] = Base64Url.EncodeToString(parameters.Q.Y),
        };
    }

    /// <summary>RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.</summary>
    private static string Thumbprint(ECDsa key)
    {
        var jwk = PublicJwk(key);
        var canonical = $"{{\"crv\":\"{jwk["crv"]}\",\"kty\":\"{jwk["kty"]}\",\"x\":\"{jwk["x"]}\",\"y\":\"{jwk["y"]}\"}}";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static string Proof(ECDsa key, string method, string url, string? ath = null, int iatOffsetSeconds = 0, bool includePrivateKey = false, string type = "dpop+jwt")
    {
        var jwk = PublicJwk(key);
        if (includePrivateKey)
        {
            jwk["d"] = Base64Url.EncodeToString(key.ExportParameters(true).D);
        }

        var header = new Dictionary<string, object> { ["typ"] = type, ["alg"] = "ES256", ["jwk"] = jwk };
        var claims = new Dictionary<string, object>
        {
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + iatOffsetSeconds,
        };
        if (ath is not null)
        {
            claims["ath"] = ath;
        }

        var input = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        // .NET signs ECDSA in the IEEE P1363 form (r || s) that JWS requires.
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + Base64Url.EncodeToString(signature);
    }
}
