using System.Text.Json;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>
/// The protocol endpoints: <c>/oauth/token</c> (client credentials), <c>/oauth/introspect</c>
/// (RFC 7662), <c>/oauth/revoke</c> (RFC 7009), the RFC 8414 metadata and the JWKS. They answer
/// plain RFC JSON, not the API envelope, with <c>Cache-Control: no-store</c>.
/// </summary>
public static class OAuthEndpoints
{
    public const string TokenPath = "/oauth/token";
    public const string IntrospectPath = "/oauth/introspect";
    public const string RevokePath = "/oauth/revoke";
    public const string JwksPath = "/.well-known/jwks.json";
    public const string MetadataPath = "/.well-known/oauth-authorization-server";
    public const string ClientCredentials = "client_credentials";

    /// <summary>The issuer: the configured one, else this request's scheme and host.</summary>
    public static string IssuerOf(HttpContext httpContext, OAuthOptions options) =>
        options.Issuer?.TrimEnd('/') ?? $"{httpContext.Request.Scheme}://{httpContext.Request.Host.Value}";

    public static async Task Token(HttpContext httpContext, OAuthServices services)
    {
        var cancellationToken = httpContext.RequestAborted;
        if (await services.FailureLimitedAsync(httpContext, cancellationToken) is { } limited)
        {
            await limited;
            return;
        }

        if (!httpContext.Request.HasFormContentType)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "The request body must be application/x-www-form-urlencoded.");
            return;
        }

        var form = await httpContext.Request.ReadFormAsync(cancellationToken);
        var grantType = form["grant_type"].ToString();
        if (grantType.Length == 0)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "grant_type is required.");
            return;
        }

        if (grantType != ClientCredentials)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.UnsupportedGrantType, "Only the client_credentials grant is supported.");
            return;
        }

        var issuer = IssuerOf(httpContext, services.Options);
        var auth = await services.Authenticator.AuthenticateAsync(httpContext, form, [issuer + TokenPath, issuer], cancellationToken);
        if (await services.RefuseClientAsync(httpContext, auth, cancellationToken))
        {
            return;
        }

        var client = auth!.Client!;
        var decision = await services.Limiter.TryConsumeAsync("oauth_client:" + client.Id, services.ClientRules, 1, cancellationToken);
        if (!decision.Allowed)
        {
            var retryAfter = (int)Math.Ceiling(decision.RetryAfter(services.Limiter.Now).TotalSeconds);
            httpContext.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteErrorAsync(httpContext, 429, OAuthErrors.TemporarilyUnavailable, "Too many token requests for this client; retry later.");
            return;
        }

        var requested = form["scope"].ToString();
        var scope = GrantedScope(requested, client.Scopes, out var scopeError);
        if (scopeError is not null)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidScope, scopeError);
            return;
        }

        // RFC 9449: a DPoP proof binds the token to the client's key.
        string? jkt = null;
        var proofs = httpContext.Request.Headers[DpopProofs.HeaderName];
        if (proofs.Count > 1)
        {
            await WriteErrorAsync(httpContext, 400, "invalid_dpop_proof", "Send one DPoP proof.");
            return;
        }

        if (proofs.Count == 1)
        {
            var (thumbprint, proofError) = await services.Dpop.ValidateAsync(proofs[0]!, HttpMethods.Post, issuer + TokenPath, accessToken: null);
            if (proofError is not null)
            {
                await WriteErrorAsync(httpContext, 400, "invalid_dpop_proof", proofError);
                return;
            }

            jkt = thumbprint;
        }

        var issued = await services.Tokens.IssueAsync(client, issuer, scope, jkt, cancellationToken);
        await WriteJsonAsync(httpContext, 200, json =>
        {
            json.WriteString("access_token", issued.Token);
            json.WriteString("token_type", jkt is null ? "Bearer" : "DPoP");
            json.WriteNumber("expires_in", client.TokenTtlSeconds);
            json.WriteString("scope", scope);
        });
    }

    /// <summary>
    /// The requested scope when every part of it is within the client's scopes (a client holding
    /// <c>api_keys:*</c> may ask for <c>api_keys:read</c>); all of the client's scopes when none is asked.
    /// </summary>
    internal static string GrantedScope(string requested, IReadOnlyList<string> clientScopes, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(requested))
        {
            return string.Join(' ', clientScopes);
        }

        var parts = requested.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var part in parts)
        {
            if (!Permission.IsWellFormed(part))
            {
                error = $"'{Truncate(part)}' is not a valid scope.";
                return "";
            }

            if (!Permission.Grants(clientScopes, part))
            {
                error = $"The scope '{Truncate(part)}' is not granted to this client.";
                return "";
            }
        }

        return string.Join(' ', parts.Distinct(StringComparer.Ordinal));
    }

    public static async Task Introspect(HttpContext httpContext, OAuthServices services)
    {
        var cancellationToken = httpContext.RequestAborted;
        if (await services.FailureLimitedAsync(httpContext, cancellationToken) is { } limited)
        {
            await limited;
            return;
        }

        if (!httpContext.Request.HasFormContentType)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "The request body must be application/x-www-form-urlencoded.");
            return;
        }

        var form = await httpContext.Request.ReadFormAsync(cancellationToken);
        var caller = await services.CallerAsync(httpContext, form, IntrospectPath, "oauth_clients:read", cancellationToken);
        if (caller is null)
        {
            return;
        }

        var token = form["token"].ToString();
        if (token.Length == 0)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "token is required.");
            return;
        }

        var live = await services.LiveTokenAsync(token, cancellationToken);
        if (live is null || !caller.MaySee(live.Value.Claims.OrgId))
        {
            await WriteJsonAsync(httpContext, 200, json => json.WriteBoolean("active", false));
            return;
        }

        var (claims, _) = live.Value;
        await WriteJsonAsync(httpContext, 200, json =>
        {
            json.WriteBoolean("active", true);
            json.WriteString("scope", claims.Scope);
            json.WriteString("client_id", claims.ClientId);
            json.WriteString("sub", claims.Subject);
            json.WriteString("aud", claims.Audience);
            json.WriteString("iss", claims.Issuer);
            json.WriteNumber("exp", claims.ExpiresAt);
            json.WriteNumber("iat", claims.IssuedAt);
            json.WriteString("jti", claims.Jti);
            json.WriteString("token_type", claims.IsBound ? "DPoP" : "Bearer");
            json.WriteString("org_id", claims.OrgId);
            if (claims.Jkt is { } jkt)
            {
                json.WriteStartObject("cnf");
                json.WriteString("jkt", jkt);
                json.WriteEndObject();
            }
        });
    }

    public static async Task Revoke(HttpContext httpContext, OAuthServices services, GatehouseDb db, ChangeSet changes)
    {
        var cancellationToken = httpContext.RequestAborted;
        if (await services.FailureLimitedAsync(httpContext, cancellationToken) is { } limited)
        {
            await limited;
            return;
        }

        if (!httpContext.Request.HasFormContentType)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "The request body must be application/x-www-form-urlencoded.");
            return;
        }

        var form = await httpContext.Request.ReadFormAsync(cancellationToken);
        var caller = await services.CallerAsync(httpContext, form, RevokePath, "oauth_clients:write", cancellationToken);
        if (caller is null)
        {
            return;
        }

        var token = form["token"].ToString();
        if (token.Length == 0)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, "token is required.");
            return;
        }

        var hint = form["token_type_hint"].ToString();
        if (hint.Length > 0 && hint != "access_token")
        {
            // RFC 7009 §2.2.1: a hint the server does not know is ignored, but refresh tokens do not exist here.
            if (hint == "refresh_token")
            {
                await WriteErrorAsync(httpContext, 400, OAuthErrors.UnsupportedTokenType, "This server issues no refresh tokens.");
                return;
            }
        }

        // RFC 7009 §2.2: an invalid, expired or unknown token is answered 200 — as is another organization's.
        var claims = await services.Tokens.ValidateAsync(token, cancellationToken);
        if (claims is null || !caller.MaySee(claims.OrgId))
        {
            await WriteEmptyAsync(httpContext);
            return;
        }

        if (caller.Client is { } client && client.Id != claims.ClientId)
        {
            await WriteErrorAsync(httpContext, 400, OAuthErrors.UnauthorizedClient, "A client may revoke only the tokens issued to it.");
            return;
        }

        await services.RevokeAsync(db, changes, claims, caller, cancellationToken);
        await WriteEmptyAsync(httpContext);
    }

    public static async Task Jwks(HttpContext httpContext, SigningKeyStore keys)
    {
        var body = await keys.JwksAsync(httpContext.RequestAborted);
        httpContext.Response.StatusCode = 200;
        httpContext.Response.ContentType = "application/jwk-set+json";
        // Verifiers may cache briefly; a rotation publishes its key an hour (the lead time) before it signs.
        httpContext.Response.Headers.CacheControl = "public, max-age=300";
        await httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted);
    }

    public static Task Metadata(HttpContext httpContext, OAuthOptions options)
    {
        var issuer = IssuerOf(httpContext, options);
        string[] authMethods = [.. ClientAuthMethods.All];
        string[] assertionAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
        httpContext.Response.Headers.CacheControl = "public, max-age=300";
        return WriteJsonAsync(httpContext, 200, json =>
        {
            json.WriteString("issuer", issuer);
            json.WriteString("token_endpoint", issuer + TokenPath);
            json.WriteString("jwks_uri", issuer + JwksPath);
            json.WriteString("introspection_endpoint", issuer + IntrospectPath);
            json.WriteString("revocation_endpoint", issuer + RevokePath);
            WriteArray(json, "grant_types_supported", [ClientCredentials]);
            WriteArray(json, "response_types_supported", []);
            WriteArray(json, "token_endpoint_auth_methods_supported", authMethods);
            WriteArray(json, "token_endpoint_auth_signing_alg_values_supported", assertionAlgorithms);
            WriteArray(json, "introspection_endpoint_auth_methods_supported", [.. authMethods, "bearer"]);
            WriteArray(json, "introspection_endpoint_auth_signing_alg_values_supported", assertionAlgorithms);
            WriteArray(json, "revocation_endpoint_auth_methods_supported", [.. authMethods, "bearer"]);
            WriteArray(json, "revocation_endpoint_auth_signing_alg_values_supported", assertionAlgorithms);
            WriteArray(json, "scopes_supported", [.. Platform.Auth.PermissionCatalog.All.Select(p => p.Name)]);
            WriteArray(json, "access_token_signing_alg_values_supported", [.. SigningAlgorithms.All]);
            WriteArray(json, "dpop_signing_alg_values_supported", DpopProofs.Algorithms);
            json.WriteString("service_documentation", issuer + "/docs");
        }, noStore: false);
    }

    private static void WriteArray(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    internal static Task WriteErrorAsync(HttpContext httpContext, int status, string error, string description)
    {
        if (status == 401)
        {
            // RFC 6749 §5.2: a 401 names the scheme the client should authenticate with.
            httpContext.Response.Headers.WWWAuthenticate = BasicChallenge.Value;
        }

        return WriteJsonAsync(httpContext, status, json =>
        {
            json.WriteString("error", error);
            json.WriteString("error_description", description);
        });
    }

    private static async Task WriteJsonAsync(HttpContext httpContext, int status, Action<Utf8JsonWriter> write, bool noStore = true)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        if (noStore)
        {
            response.Headers.CacheControl = "no-store";
            response.Headers.Pragma = "no-cache";
        }

        await using (var json = new Utf8JsonWriter(response.BodyWriter, RelaxedJson))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }

    private static Task WriteEmptyAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = 200;
        httpContext.Response.Headers.CacheControl = "no-store";
        httpContext.Response.Headers.Pragma = "no-cache";
        return Task.CompletedTask;
    }

    // Descriptions quote scopes ('api_keys:write'); HTML-safe escaping would turn the quotes into \u0027 for no reader's benefit.
    private static readonly JsonWriterOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Truncate(string value) => value.Length > 64 ? value[..64] + "…" : value;
}
