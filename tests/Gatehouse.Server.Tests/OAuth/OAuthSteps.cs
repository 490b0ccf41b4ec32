using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>A client registered in a test: its id, its secret (null for private_key_jwt) and the create response.</summary>
public sealed record RegisteredClient(string Id, string? Secret, ApiResponse Created);

/// <summary>Steps the OAuth tests share: register clients, ask the token endpoint, sign assertions, read tokens.</summary>
public static class OAuthSteps
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    public const string FormContentType = "application/x-www-form-urlencoded";

    public static string ClientsPath(string orgId) => $"/api/v1/orgs/{orgId}/oauth-clients";

    /// <summary>Registers a client through the org route (root unless <paramref name="caller"/> is given) and insists on 201.</summary>
    public static async Task<RegisteredClient> CreateOAuthClientAsync(this GatehouseServer server, string orgId, object body, ApiClient? caller = null)
    {
        var response = await (caller ?? server.Root).PostAsync(ClientsPath(orgId), body);
        if (response.StatusCode != 201)
        {
            throw new InvalidOperationException($"Registering an OAuth client failed: {response}");
        }

        var secret = response.Data.GetProperty("clientSecret");
        return new RegisteredClient(response.Str("id"), secret.ValueKind == JsonValueKind.String ? secret.GetString() : null, response);
    }

    /// <summary>A secret client with the given scopes (client_secret_basic unless told).</summary>
    public static Task<RegisteredClient> CreateSecretClientAsync(this GatehouseServer server, string orgId, string[] scopes, int? tokenTtlSeconds = null, string method = "client_secret_basic", string? signingAlgorithm = null) =>
        server.CreateOAuthClientAsync(orgId, new Dictionary<string, object>
        {
            ["name"] = "client-" + Guid.NewGuid().ToString("N")[..8],
            ["scopes"] = scopes,
            ["tokenEndpointAuthMethod"] = method,
            ["tokenTtlSeconds"] = tokenTtlSeconds ?? 3600,
            ["signingAlgorithm"] = signingAlgorithm ?? "ES256",
        });

    /// <summary>A private_key_jwt client whose JWKS holds the public half of <paramref name="key"/>.</summary>
    public static Task<RegisteredClient> CreateKeyClientAsync(this GatehouseServer server, string orgId, ClientKey key, string[] scopes, int tokenTtlSeconds = 3600) =>
        server.CreateOAuthClientAsync(orgId, new
        {
            name = "keyed-" + Guid.NewGuid().ToString("N")[..8],
            scopes,
            tokenTtlSeconds,
            tokenEndpointAuthMethod = "private_key_jwt",
            jwks = key.PublicJwks(),
        });

    /// <summary>Form-encodes the fields the way a browser or an OAuth library does.</summary>
    public static string Form(params (string Name, string Value)[] fields) =>
        string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Name) + "=" + Uri.EscapeDataString(f.Value)));

    /// <summary>RFC 6749 §2.3.1: each half form-encoded, then joined with a colon and Base64-encoded.</summary>
    public static string BasicHeader(string clientId, string secret) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(secret)));

    /// <summary>Posts a form to a protocol endpoint with optional extra headers (Authorization for Basic).</summary>
    public static Task<ApiResponse> PostFormAsync(this ApiClient client, string path, string form, string? authorization = null)
    {
        var headers = new Dictionary<string, string>();
        if (authorization is not null)
        {
            headers["Authorization"] = authorization;
        }

        return client.SendRawAsync(HttpMethod.Post, path, form, FormContentType, headers);
    }

    /// <summary>client_credentials with HTTP Basic client authentication.</summary>
    public static Task<ApiResponse> TokenWithBasicAsync(this GatehouseServer server, string clientId, string secret, string? scope = null)
    {
        var fields = new List<(string, string)> { ("grant_type", "client_credentials") };
        if (scope is not null)
        {
            fields.Add(("scope", scope));
        }

        return server.Anonymous.PostFormAsync("/oauth/token", Form([.. fields]), BasicHeader(clientId, secret));
    }

    /// <summary>client_credentials with the client's id and secret in the body.</summary>
    public static Task<ApiResponse> TokenWithPostAsync(this GatehouseServer server, string clientId, string secret, string? scope = null)
    {
        var fields = new List<(string, string)> { ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret) };
        if (scope is not null)
        {
            fields.Add(("scope", scope));
        }

        return server.Anonymous.PostFormAsync("/oauth/token", Form([.. fields]));
    }

    /// <summary>client_credentials authenticated by a signed client assertion (RFC 7523).</summary>
    public static Task<ApiResponse> TokenWithAssertionAsync(this GatehouseServer server, string assertion, string? scope = null, string? clientId = null)
    {
        var fields = new List<(string, string)> { ("grant_type", "client_credentials"), ("client_assertion_type", AssertionType), ("client_assertion", assertion) };
        if (scope is not null)
        {
            fields.Add(("scope", scope));
        }

        if (clientId is not null)
        {
            fields.Add(("client_id", clientId));
        }

        return server.Anonymous.PostFormAsync("/oauth/token", Form([.. fields]));
    }

    /// <summary>Asks for a token with Basic authentication and insists on 200; returns the access token.</summary>
    public static async Task<string> AccessTokenAsync(this GatehouseServer server, RegisteredClient client, string? scope = null)
    {
        var response = await server.TokenWithBasicAsync(client.Id, client.Secret!, scope);
        if (response.StatusCode != 200)
        {
            throw new InvalidOperationException($"The token request failed: {response}");
        }

        return response.Body.GetProperty("access_token").GetString()!;
    }

    /// <summary>Introspects with the client's own Basic authentication.</summary>
    public static Task<ApiResponse> IntrospectAsync(this GatehouseServer server, RegisteredClient by, string token) =>
        server.Anonymous.PostFormAsync("/oauth/introspect", Form(("token", token)), BasicHeader(by.Id, by.Secret!));

    /// <summary>Introspects with an API key (or any bearer credential) as the caller.</summary>
    public static Task<ApiResponse> IntrospectAsync(this ApiClient caller, string token) =>
        caller.PostFormAsync("/oauth/introspect", Form(("token", token)));

    public static Task<ApiResponse> RevokeAsync(this GatehouseServer server, RegisteredClient by, string token) =>
        server.Anonymous.PostFormAsync("/oauth/revoke", Form(("token", token)), BasicHeader(by.Id, by.Secret!));

    /// <summary>True when the body is exactly <c>{"active":false}</c>: an inactive token reveals nothing else (RFC 7662 §2.2).</summary>
    public static bool IsExactlyInactive(this ApiResponse response)
    {
        if (response.StatusCode != 200)
        {
            return false;
        }

        var properties = response.Body.EnumerateObject().ToList();
        return properties.Count == 1 && properties[0].Name == "active" && properties[0].Value.ValueKind == JsonValueKind.False;
    }

    public static bool IsActive(this ApiResponse response) =>
        response.StatusCode == 200 && response.Body.TryGetProperty("active", out var active) && active.ValueKind == JsonValueKind.True;

    /// <summary>The RFC 6749 error code of a protocol answer.</summary>
    public static string? OAuthError(this ApiResponse response) =>
        response.Text.Length > 0 && response.Body.ValueKind == JsonValueKind.Object && response.Body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
            ? error.GetString()
            : null;

    /// <summary>A protocol answer (token, introspection, revocation) is plain RFC JSON: no envelope and never cached.</summary>
    public static void ShouldBeAProtocolAnswer(this ApiResponse response)
    {
        response.Header("Cache-Control").ShouldNotBeNull(response.Text);
        response.Header("Cache-Control")!.ShouldContain("no-store", Case.Insensitive, response.Text);
        response.ShouldBePlainJson();
    }

    /// <summary>
    /// Discovery answers (metadata, JWKS) are plain JSON too, but public and briefly cacheable: verifiers
    /// cache the keys, which is why a new signing key is published before it signs.
    /// </summary>
    public static void ShouldBeADiscoveryAnswer(this ApiResponse response)
    {
        response.Header("Cache-Control").ShouldNotBeNull(response.Text);
        response.Header("Cache-Control")!.ShouldContain("max-age", Case.Insensitive, response.Text);
        response.Header("Cache-Control")!.ShouldNotContain("private", Case.Insensitive, response.Text);
        response.ShouldBePlainJson();
    }

    private static void ShouldBePlainJson(this ApiResponse response)
    {
        if (response.Text.Length > 0)
        {
            response.Body.TryGetProperty("success", out _).ShouldBeFalse(response.Text);
            response.Body.TryGetProperty("data", out _).ShouldBeFalse(response.Text);
            response.Body.TryGetProperty("meta", out _).ShouldBeFalse(response.Text);
        }
    }

    /// <summary>A JWT's header and claims, decoded without checking anything.</summary>
    public static (JsonElement Header, JsonElement Claims) DecodeJwt(string token)
    {
        var parts = token.Split('.');
        parts.Length.ShouldBe(3, token);
        return (JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0])).RootElement, JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1])).RootElement);
    }

    /// <summary>The server's authorization server metadata (RFC 8414).</summary>
    public static async Task<JsonElement> MetadataAsync(this GatehouseServer server)
    {
        var response = await server.Anonymous.GetAsync("/.well-known/oauth-authorization-server");
        response.StatusCode.ShouldBe(200, response.Text);
        return response.Body;
    }

    public static async Task<JsonWebKeySet> JwksAsync(this GatehouseServer server)
    {
        var response = await server.Anonymous.GetAsync("/.well-known/jwks.json");
        response.StatusCode.ShouldBe(200, response.Text);
        return new JsonWebKeySet(response.Text);
    }

    public static async Task<string[]> PublishedKidsAsync(this GatehouseServer server) => [.. (await server.JwksAsync()).Keys.Select(k => k.Kid)];

    /// <summary>Checks the signature of <paramref name="token"/> against the published JWKS, and its issuer, audience and type.</summary>
    public static async Task<TokenValidationResult> ValidateAgainstJwksAsync(this GatehouseServer server, string token, bool checkLifetime = true)
    {
        var metadata = await server.MetadataAsync();
        var issuer = metadata.GetProperty("issuer").GetString()!;
        var jwks = await server.JwksAsync();
        return await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = issuer,
            ValidAudience = issuer,
            ValidTypes = ["at+jwt"],
            ValidateLifetime = checkLifetime,
            RequireSignedTokens = true,
        });
    }

    /// <summary>The scopes of a space-separated scope string, in a stable order.</summary>
    public static string[] ScopeSet(string? scope) => [.. (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

    /// <summary>An ISO-8601 timestamp field read as an instant.</summary>
    public static DateTimeOffset Instant(this JsonElement element, string property) =>
        DateTimeOffset.Parse(element.GetProperty(property).GetString()!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An ES256 key pair a test client signs its assertions with.</summary>
public sealed class ClientKey : IDisposable
{
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ClientKey(string? kid = null) => Kid = kid ?? "test-" + Guid.NewGuid().ToString("N")[..12];

    public string Kid { get; }

    /// <summary>The public half as a JWK Set, the way a client registers it.</summary>
    public object PublicJwks()
    {
        var parameters = _ecdsa.ExportParameters(includePrivateParameters: false);
        return new
        {
            keys = new[]
            {
                new { kty = "EC", crv = "P-256", x = Base64UrlEncoder.Encode(parameters.Q.X), y = Base64UrlEncoder.Encode(parameters.Q.Y), kid = Kid, use = "sig", alg = "ES256" },
            },
        };
    }

    /// <summary>
    /// A client assertion per RFC 7523 §3: iss = sub = the client, aud, exp, iat and a jti. Every
    /// part can be bent by a test; <paramref name="now"/> is the server's clock.
    /// </summary>
    public string Assertion(string clientId, string audience, DateTimeOffset now, TimeSpan? lifetime = null, string? jti = null, string? issuer = null, string? subject = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? clientId,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(2))).UtcDateTime,
            Subject = new ClaimsIdentity([new Claim("sub", subject ?? clientId), new Claim("jti", jti ?? Guid.NewGuid().ToString("N"))]),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(_ecdsa) { KeyId = Kid }, SecurityAlgorithms.EcdsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public void Dispose() => _ecdsa.Dispose();
}
