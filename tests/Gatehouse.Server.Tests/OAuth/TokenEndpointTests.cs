using System.Text.Json;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// POST /oauth/token: client_credentials with each client authentication method, scope
/// down-selection, every error answer, and the access token it issues checked against the JWKS.
/// </summary>
public sealed class TokenEndpointTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private async Task<string> TokenEndpointAsync() => (await _server.MetadataAsync()).GetProperty("token_endpoint").GetString()!;

    private static void ShouldBeATokenAnswer(ApiResponse response, int expiresIn, params string[] scopes)
    {
        response.StatusCode.ShouldBe(200, response.Text);
        response.ShouldBeAProtocolAnswer();
        var body = response.Body;
        body.GetProperty("access_token").GetString().ShouldNotBeNullOrEmpty();
        body.GetProperty("token_type").GetString().ShouldBe("Bearer");
        body.GetProperty("expires_in").GetInt32().ShouldBe(expiresIn);
        OAuthSteps.ScopeSet(body.GetProperty("scope").GetString()).ShouldBe(scopes.Order(StringComparer.Ordinal).ToArray());
    }

    private static void ShouldBeInvalidClient(ApiResponse response)
    {
        response.StatusCode.ShouldBe(401, response.Text);
        response.OAuthError().ShouldBe("invalid_client", response.Text);
        response.ShouldBeAProtocolAnswer();
        response.Text.ShouldNotContain("access_token");
    }

    [Fact]
    public async Task Client_secret_basic_returns_a_bearer_token_with_the_clients_lifetime_and_every_scope()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read", "deploy:write"], tokenTtlSeconds: 600);

        var response = await _server.TokenWithBasicAsync(client.Id, client.Secret!);

        ShouldBeATokenAnswer(response, 600, "deploy:read", "deploy:write");
    }

    [Fact]
    public async Task Client_secret_post_returns_a_bearer_token()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"], tokenTtlSeconds: 120, method: "client_secret_post");

        var response = await _server.TokenWithPostAsync(client.Id, client.Secret!);

        ShouldBeATokenAnswer(response, 120, "deploy:read");
    }

    [Fact]
    public async Task Private_key_jwt_returns_a_bearer_token_for_an_assertion_signed_by_the_registered_key()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        var client = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read", "reports:read"], tokenTtlSeconds: 300);
        var audience = await TokenEndpointAsync();

        var response = await _server.TokenWithAssertionAsync(key.Assertion(client.Id, audience, DateTimeOffset.UtcNow), "reports:read");

        ShouldBeATokenAnswer(response, 300, "reports:read");
        var (_, claims) = OAuthSteps.DecodeJwt(response.Body.GetProperty("access_token").GetString()!);
        claims.GetProperty("client_id").GetString().ShouldBe(client.Id);
    }

    [Fact]
    public async Task Private_key_jwt_also_accepts_the_issuer_as_the_assertions_audience()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        var client = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var issuer = (await _server.MetadataAsync()).GetProperty("issuer").GetString()!;

        var response = await _server.TokenWithAssertionAsync(key.Assertion(client.Id, issuer, DateTimeOffset.UtcNow));

        ShouldBeATokenAnswer(response, 3600, "deploy:read");
    }

    [Fact]
    public async Task A_requested_scope_narrows_the_token_and_a_scope_beyond_the_client_is_invalid_scope()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read", "deploy:write", "reports:read"]);

        var one = await _server.TokenWithBasicAsync(client.Id, client.Secret!, "deploy:write");
        var two = await _server.TokenWithBasicAsync(client.Id, client.Secret!, "reports:read deploy:read");
        var beyond = await _server.TokenWithBasicAsync(client.Id, client.Secret!, "deploy:read api_keys:write");
        var wildcard = await _server.TokenWithBasicAsync(client.Id, client.Secret!, "deploy:*");

        ShouldBeATokenAnswer(one, 3600, "deploy:write");
        OAuthSteps.ScopeSet(OAuthSteps.DecodeJwt(one.Body.GetProperty("access_token").GetString()!).Claims.GetProperty("scope").GetString()).ShouldBe(["deploy:write"]);
        ShouldBeATokenAnswer(two, 3600, "deploy:read", "reports:read");
        foreach (var refused in new[] { beyond, wildcard })
        {
            refused.StatusCode.ShouldBe(400, refused.Text);
            refused.OAuthError().ShouldBe("invalid_scope");
            refused.ShouldBeAProtocolAnswer();
        }
    }

    [Fact]
    public async Task A_wrong_secret_and_an_unknown_client_get_the_same_invalid_client_answer_with_a_basic_challenge()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var wrongSecret = "gcs_" + new string('A', 43);

        var wrong = await _server.TokenWithBasicAsync(client.Id, wrongSecret);
        var unknown = await _server.TokenWithBasicAsync("ocl_" + Guid.NewGuid().ToString("N"), client.Secret!);
        var wrongByPost = await _server.TokenWithPostAsync(client.Id, wrongSecret);

        foreach (var response in new[] { wrong, unknown })
        {
            ShouldBeInvalidClient(response);
            response.Header("WWW-Authenticate").ShouldNotBeNull(response.Text);
            response.Header("WWW-Authenticate")!.ShouldStartWith("Basic", Case.Insensitive);
            response.Header("WWW-Authenticate")!.ShouldContain("realm=\"gatehouse\"");
        }

        unknown.Text.ShouldBe(wrong.Text);
        unknown.Header("WWW-Authenticate").ShouldBe(wrong.Header("WWW-Authenticate"));
        ShouldBeInvalidClient(wrongByPost);
        wrong.Text.ShouldNotContain(client.Secret!);
    }

    [Fact]
    public async Task A_missing_or_unsupported_grant_type_and_a_json_body_are_refused()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var basic = OAuthSteps.BasicHeader(client.Id, client.Secret!);

        var missing = await _server.Anonymous.PostFormAsync("/oauth/token", OAuthSteps.Form(("scope", "deploy:read")), basic);
        var password = await _server.Anonymous.PostFormAsync("/oauth/token", OAuthSteps.Form(("grant_type", "password"), ("username", "a"), ("password", "b")), basic);
        var json = await _server.Anonymous.SendRawAsync(HttpMethod.Post, "/oauth/token", "{\"grant_type\":\"client_credentials\"}", "application/json",
            new Dictionary<string, string> { ["Authorization"] = basic });

        missing.StatusCode.ShouldBe(400, missing.Text);
        missing.OAuthError().ShouldBe("invalid_request");
        password.StatusCode.ShouldBe(400, password.Text);
        password.OAuthError().ShouldBe("unsupported_grant_type");
        json.StatusCode.ShouldBe(400, json.Text);
        json.OAuthError().ShouldBe("invalid_request");
        foreach (var response in new[] { missing, password, json })
        {
            response.ShouldBeAProtocolAnswer();
            response.Body.GetProperty("error_description").GetString().ShouldNotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public async Task A_replayed_assertion_is_refused_the_second_time()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        var client = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var assertion = key.Assertion(client.Id, await TokenEndpointAsync(), DateTimeOffset.UtcNow);

        var first = await _server.TokenWithAssertionAsync(assertion);
        var replay = await _server.TokenWithAssertionAsync(assertion);
        var sameJti = await _server.TokenWithAssertionAsync(key.Assertion(client.Id, await TokenEndpointAsync(), DateTimeOffset.UtcNow, jti: OAuthSteps.DecodeJwt(assertion).Claims.GetProperty("jti").GetString()));

        first.StatusCode.ShouldBe(200, first.Text);
        ShouldBeInvalidClient(replay);
        ShouldBeInvalidClient(sameJti);
    }

    [Fact]
    public async Task Assertions_that_break_a_rule_are_invalid_client()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        using var impostor = new ClientKey(key.Kid);
        using var unregistered = new ClientKey();
        var client = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var other = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var audience = await TokenEndpointAsync();
        var now = DateTimeOffset.UtcNow;

        var cases = new Dictionary<string, string>
        {
            ["exp more than 5 minutes ahead"] = key.Assertion(client.Id, audience, now, lifetime: TimeSpan.FromMinutes(10)),
            ["already expired"] = key.Assertion(client.Id, audience, now - TimeSpan.FromMinutes(10), lifetime: TimeSpan.FromMinutes(2)),
            ["another audience"] = key.Assertion(client.Id, "https://elsewhere.example.test/oauth/token", now),
            ["signed by another key under the registered kid"] = impostor.Assertion(client.Id, audience, now),
            ["signed by an unregistered key"] = unregistered.Assertion(client.Id, audience, now),
            ["iss is not the client"] = key.Assertion(client.Id, audience, now, issuer: other.Id),
            ["sub is not the client"] = key.Assertion(client.Id, audience, now, subject: other.Id),
            ["naming another client"] = key.Assertion(other.Id, audience, now),
            ["not a JWT"] = "not-a-jwt",
        };

        var wrong = new List<string>();
        foreach (var (rule, assertion) in cases)
        {
            var response = await _server.TokenWithAssertionAsync(assertion);
            if (response.StatusCode != 401 || response.OAuthError() != "invalid_client")
            {
                wrong.Add($"{rule}: {response}");
            }
        }

        wrong.ShouldBeEmpty();
        // The registered key still works: every refusal above was about the assertion.
        (await _server.TokenWithAssertionAsync(key.Assertion(client.Id, audience, DateTimeOffset.UtcNow))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task An_assertion_signed_with_alg_none_is_invalid_client()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        var client = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var signed = key.Assertion(client.Id, await TokenEndpointAsync(), DateTimeOffset.UtcNow);
        var unsigned = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + signed.Split('.')[1] + ".";

        ShouldBeInvalidClient(await _server.TokenWithAssertionAsync(unsigned));
    }

    [Fact]
    public async Task A_private_key_jwt_client_cannot_authenticate_with_a_secret_and_a_secret_client_cannot_sign()
    {
        var orgId = await _server.CreateOrgAsync();
        using var key = new ClientKey();
        var keyed = await _server.CreateKeyClientAsync(orgId, key, ["deploy:read"]);
        var secretClient = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);

        ShouldBeInvalidClient(await _server.TokenWithBasicAsync(keyed.Id, secretClient.Secret!));
        ShouldBeInvalidClient(await _server.TokenWithPostAsync(keyed.Id, "gcs_" + new string('x', 43)));
        ShouldBeInvalidClient(await _server.TokenWithAssertionAsync(key.Assertion(secretClient.Id, await TokenEndpointAsync(), DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task No_client_authentication_at_all_is_refused()
    {
        var response = await _server.Anonymous.PostFormAsync("/oauth/token", OAuthSteps.Form(("grant_type", "client_credentials")));

        response.StatusCode.ShouldBeOneOf(400, 401);
        response.OAuthError().ShouldBeOneOf("invalid_client", "invalid_request");
        response.ShouldBeAProtocolAnswer();
    }

    [Fact]
    public async Task The_access_token_is_an_at_jwt_whose_claims_name_the_client_and_whose_signature_matches_the_jwks()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read", "reports:read"], tokenTtlSeconds: 900);
        var issuer = (await _server.MetadataAsync()).GetProperty("issuer").GetString()!;

        var response = await _server.TokenWithBasicAsync(client.Id, client.Secret!);
        var token = response.Body.GetProperty("access_token").GetString()!;

        var (header, claims) = OAuthSteps.DecodeJwt(token);
        header.GetProperty("alg").GetString().ShouldBe("ES256");
        header.GetProperty("typ").GetString().ShouldBe("at+jwt");
        var kid = header.GetProperty("kid").GetString()!;
        (await _server.PublishedKidsAsync()).ShouldContain(kid);
        claims.GetProperty("iss").GetString().ShouldBe(issuer);
        claims.GetProperty("sub").GetString().ShouldBe(client.Id);
        claims.GetProperty("client_id").GetString().ShouldBe(client.Id);
        AudienceOf(claims).ShouldBe([issuer]);
        claims.GetProperty("org_id").GetString().ShouldBe(orgId);
        OAuthSteps.ScopeSet(claims.GetProperty("scope").GetString()).ShouldBe(["deploy:read", "reports:read"]);
        claims.GetProperty("jti").GetString().ShouldNotBeNullOrEmpty();
        (claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64()).ShouldBe(900);
        var validation = await _server.ValidateAgainstJwksAsync(token);
        validation.IsValid.ShouldBeTrue(validation.Exception?.ToString());

        // Two tokens never share a jti.
        var second = await _server.AccessTokenAsync(client);
        OAuthSteps.DecodeJwt(second).Claims.GetProperty("jti").GetString().ShouldNotBe(claims.GetProperty("jti").GetString());
    }

    [Fact]
    public async Task A_client_created_with_rs256_gets_tokens_signed_rs256_by_a_published_rsa_key()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"], signingAlgorithm: "RS256");
        client.Created.Str("signingAlgorithm").ShouldBe("RS256");

        var token = await _server.AccessTokenAsync(client);

        var (header, _) = OAuthSteps.DecodeJwt(token);
        header.GetProperty("alg").GetString().ShouldBe("RS256");
        header.GetProperty("typ").GetString().ShouldBe("at+jwt");
        var published = (await _server.JwksAsync()).Keys.Single(k => k.Kid == header.GetProperty("kid").GetString());
        published.Kty.ShouldBe("RSA");
        published.Alg.ShouldBe("RS256");
        var validation = await _server.ValidateAgainstJwksAsync(token);
        validation.IsValid.ShouldBeTrue(validation.Exception?.ToString());
    }

    [Fact]
    public async Task A_basic_header_whose_halves_are_form_encoded_is_decoded_before_comparing()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.CreateSecretClientAsync(orgId, ["deploy:read"]);

        // RFC 6749 §2.3.1: a conforming client form-encodes both halves; an encoded character must not break the match.
        var encodedPrefix = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(client.Id.Replace("_", "%5F", StringComparison.Ordinal) + ":" + client.Secret!.Replace("_", "%5F", StringComparison.Ordinal)));
        var response = await _server.Anonymous.PostFormAsync("/oauth/token", OAuthSteps.Form(("grant_type", "client_credentials")), encodedPrefix);

        response.StatusCode.ShouldBe(200, response.Text);
    }

    [Fact]
    public async Task Too_many_token_requests_are_429_with_retry_after_and_no_token()
    {
        var clock = new FakeClock();
        var tight = new Dictionary<string, string?> { ["Gatehouse:OAuth:TokenRequestsPerClientPerMinute"] = "5" };
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock, Settings = tight });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var answers = new List<ApiResponse>();
        for (var i = 0; i < 12; i++)
        {
            answers.Add(await server.TokenWithBasicAsync(client.Id, client.Secret!));
        }

        answers.Take(5).ShouldAllBe(a => a.StatusCode == 200);
        answers.Skip(5).ShouldAllBe(a => a.StatusCode == 429);
        var limited = answers.Last();
        limited.StatusCode.ShouldBe(429, limited.Text);
        int.Parse(limited.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        limited.ShouldBeAProtocolAnswer();
        limited.OAuthError().ShouldNotBeNullOrEmpty(limited.Text);
        limited.Text.ShouldNotContain("access_token");

        // The window passes with the clock, and tokens are issued again.
        // The limit is a sliding window: a whole window after the previous one has drained.
        clock.Advance(TimeSpan.FromMinutes(2));
        (await server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Repeated_failed_client_authentication_from_one_address_is_429_even_for_the_right_secret()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Clock = clock,
            Settings = new Dictionary<string, string?> { ["Gatehouse:OAuth:FailedAuthPerIpPerMinute"] = "3" },
        });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["deploy:read"]);
        var guess = "gcs_" + new string('G', 43);

        var failures = new List<ApiResponse>();
        for (var i = 0; i < 3; i++)
        {
            failures.Add(await server.TokenWithBasicAsync(client.Id, guess));
        }

        var fourth = await server.TokenWithBasicAsync(client.Id, guess);
        var rightSecret = await server.TokenWithBasicAsync(client.Id, client.Secret!);

        failures.ShouldAllBe(f => f.StatusCode == 401);
        fourth.StatusCode.ShouldBe(429, fourth.Text);
        fourth.Header("Retry-After").ShouldNotBeNull();
        fourth.ShouldBeAProtocolAnswer();
        // Guessing stops for the address, so a correct guess gets no token either until the window passes.
        rightSecret.StatusCode.ShouldBe(429, rightSecret.Text);
        // The limit is a sliding window: a whole window after the previous one has drained.
        clock.Advance(TimeSpan.FromMinutes(2));
        (await server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
    }

    private static string[] AudienceOf(JsonElement claims) =>
        claims.GetProperty("aud").ValueKind == JsonValueKind.Array ? claims.GetProperty("aud").Strings() : [claims.GetProperty("aud").GetString()!];
}
