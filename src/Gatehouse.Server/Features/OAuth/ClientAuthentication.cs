using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>How a client authentication attempt ended: the client, or the OAuth error to answer.</summary>
public sealed record ClientAuthResult(ClientRecord? Client, string? Error, string? Description, bool UsedBasic)
{
    public static ClientAuthResult Fail(string description, bool usedBasic) => new(null, OAuthErrors.InvalidClient, description, usedBasic);

    public static ClientAuthResult Invalid(string description) => new(null, OAuthErrors.InvalidRequest, description, false);
}

/// <summary>
/// The three client authentication methods of the token, introspection and revocation endpoints:
/// HTTP Basic (<c>client_secret_basic</c>), the secret in the form (<c>client_secret_post</c>) —
/// both accepted for a secret client, the secret compared by keyed hash in constant time — and a
/// signed assertion (<c>private_key_jwt</c>, RFC 7523), whose <c>jti</c> is single-use.
/// </summary>
public sealed class ClientAuthenticator(OAuthClientCache clients, SecretHasher hasher, JwksFetcher jwksFetcher, IServiceScopeFactory scopes, TimeProvider clock)
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>An assertion may live at most this long (and is remembered that long to refuse its replay).</summary>
    public static readonly TimeSpan MaxAssertionLifetime = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private static readonly string[] AssertionAlgorithms =
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512, SecurityAlgorithms.RsaSsaPssSha256,
         SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512];

    private readonly JsonWebTokenHandler _assertionHandler = new() { MapInboundClaims = false };

    /// <summary>
    /// Null result: the request carries no client authentication at all. <paramref name="audiences"/>
    /// are the values an assertion's <c>aud</c> may hold (the endpoint's URL and the issuer).
    /// </summary>
    public async Task<ClientAuthResult?> AuthenticateAsync(HttpContext httpContext, IFormCollection form, IReadOnlyList<string> audiences, CancellationToken cancellationToken)
    {
        var authorization = httpContext.Request.Headers.Authorization.ToString();
        var basic = authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        var formSecret = form["client_secret"].ToString();
        var assertionType = form["client_assertion_type"].ToString();
        var assertion = form["client_assertion"].ToString();
        var formClientId = form["client_id"].ToString();

        var methods = (basic ? 1 : 0) + (formSecret.Length > 0 ? 1 : 0) + (assertionType.Length > 0 || assertion.Length > 0 ? 1 : 0);
        if (methods == 0)
        {
            return formClientId.Length > 0 ? ClientAuthResult.Fail("The client must authenticate.", false) : null;
        }

        if (methods > 1)
        {
            return ClientAuthResult.Invalid("Use exactly one client authentication method.");
        }

        if (basic)
        {
            return await BasicAsync(authorization, formClientId, cancellationToken);
        }

        if (formSecret.Length > 0)
        {
            return formClientId.Length == 0
                ? ClientAuthResult.Invalid("client_secret needs client_id.")
                : await SecretAsync(formClientId, formSecret, usedBasic: false, cancellationToken);
        }

        if (assertionType != AssertionType)
        {
            return ClientAuthResult.Invalid($"client_assertion_type must be {AssertionType}.");
        }

        return assertion.Length == 0 ? ClientAuthResult.Invalid("client_assertion is required.") : await AssertionAsync(assertion, formClientId, audiences, cancellationToken);
    }

    private async Task<ClientAuthResult> BasicAsync(string authorization, string formClientId, CancellationToken cancellationToken)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return ClientAuthResult.Fail("The Basic credentials are malformed.", true);
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return ClientAuthResult.Fail("The Basic credentials are malformed.", true);
        }

        // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
        var clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
        var secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
        if (formClientId.Length > 0 && formClientId != clientId)
        {
            return ClientAuthResult.Invalid("client_id in the body differs from the authenticated client.");
        }

        return await SecretAsync(clientId, secret, usedBasic: true, cancellationToken);
    }

    private async Task<ClientAuthResult> SecretAsync(string clientId, string secret, bool usedBasic, CancellationToken cancellationToken)
    {
        // Hash first, whatever the client: an unknown client costs the same as a wrong secret.
        var presented = new byte[SecretDigest.Size];
        hasher.HashInto(secret.Length > 512 ? "" : secret, presented);
        var client = await clients.GetAsync(clientId, cancellationToken);
        if (client is null || !ClientAuthMethods.UsesSecret(client.AuthMethod) || !client.SecretMatches(presented, clock.GetUtcNow().UtcDateTime))
        {
            return ClientAuthResult.Fail("Client authentication failed.", usedBasic);
        }

        return client.Live ? new ClientAuthResult(client, null, null, usedBasic) : ClientAuthResult.Fail("Client authentication failed.", usedBasic);
    }

    private async Task<ClientAuthResult> AssertionAsync(string assertion, string formClientId, IReadOnlyList<string> audiences, CancellationToken cancellationToken)
    {
        const string failed = "The client assertion is not valid.";
        JsonWebToken jwt;
        try
        {
            jwt = _assertionHandler.ReadJsonWebToken(assertion);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return ClientAuthResult.Fail(failed, false);
        }

        var clientId = jwt.Issuer;
        if (string.IsNullOrEmpty(clientId) || jwt.Subject != clientId || (formClientId.Length > 0 && formClientId != clientId))
        {
            return ClientAuthResult.Fail(failed, false);
        }

        var client = await clients.GetAsync(clientId, cancellationToken);
        if (client is null || client.AuthMethod != ClientAuthMethods.PrivateKeyJwt || !client.Live)
        {
            return ClientAuthResult.Fail(failed, false);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (!jwt.TryGetPayloadValue<long>("exp", out var exp) || string.IsNullOrEmpty(jwt.Id))
        {
            return ClientAuthResult.Fail("The client assertion needs exp and jti.", false);
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(exp).UtcDateTime;
        if (expiresAt <= now - ClockSkew || expiresAt > now + MaxAssertionLifetime + ClockSkew
            || (jwt.TryGetPayloadValue<long>("nbf", out var nbf) && DateTimeOffset.FromUnixTimeSeconds(nbf).UtcDateTime > now + ClockSkew))
        {
            return ClientAuthResult.Fail("The client assertion is expired, not yet valid, or lives longer than 5 minutes.", false);
        }

        if (!await SignatureValidAsync(assertion, client, audiences, refetch: false, cancellationToken)
            && !(client.JwksUri is not null && await SignatureValidAsync(assertion, client, audiences, refetch: true, cancellationToken)))
        {
            return ClientAuthResult.Fail(failed, false);
        }

        // Single use: the first request that records the jti wins; a replay meets the primary key.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        db.Add(new OAuthUsedAssertion { ClientId = client.Id, Jti = jwt.Id.Length > 256 ? jwt.Id[..256] : jwt.Id, ExpiresAt = expiresAt + ClockSkew });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            return ClientAuthResult.Fail("The client assertion was already used.", false);
        }

        return new ClientAuthResult(client, null, null, false);
    }

    private async Task<bool> SignatureValidAsync(string assertion, ClientRecord client, IReadOnlyList<string> audiences, bool refetch, CancellationToken cancellationToken)
    {
        var keys = client.Jwks ?? (client.JwksUri is { } uri ? await jwksFetcher.GetAsync(uri, refetch, cancellationToken) : null);
        if (keys is null)
        {
            return false;
        }

        var result = await _assertionHandler.ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            ValidIssuer = client.Id,
            ValidAudiences = audiences,
            ValidateLifetime = false,
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            IssuerSigningKeys = keys.GetSigningKeys(),
            TryAllIssuerSigningKeys = true,
            ValidAlgorithms = AssertionAlgorithms,
        });
        return result.IsValid;
    }
}

/// <summary>
/// Fetches a client's published JWK Set over the same guarded HTTP path webhooks use (https only,
/// no private or loopback addresses unless insecure targets are allowed), at most 64 KiB, cached
/// for five minutes and fetched again early when an assertion names a key it lacks.
/// </summary>
public sealed class JwksFetcher(IHttpClientFactory httpClients, TimeProvider clock, ILogger<JwksFetcher> logger)
{
    public const string HttpClientName = "oauth-jwks";
    private const int MaxBytes = 64 * 1024;
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MinRefetchInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, (JsonWebKeySet Keys, DateTime FetchedAt)> _cache = new(StringComparer.Ordinal);

    public async Task<JsonWebKeySet?> GetAsync(string uri, bool refetch, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_cache.TryGetValue(uri, out var cached) && (refetch ? now - cached.FetchedAt < MinRefetchInterval : now - cached.FetchedAt < CacheFor))
        {
            return cached.Keys;
        }

        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            client.Timeout = TimeSpan.FromSeconds(5);
            using var response = await client.GetAsync(new Uri(uri), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxBytes)
            {
                return cached.Keys;
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
            {
                read += n;
            }

            if (read > MaxBytes)
            {
                return cached.Keys;
            }

            var keys = new JsonWebKeySet(Encoding.UTF8.GetString(buffer, 0, read));
            _cache[uri] = (keys, now);
            return keys;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ArgumentException or IOException or System.Text.Json.JsonException)
        {
            logger.LogWarning("Fetching a client's JWK Set from {Origin} failed: {Reason}", WebhookUrlPolicy.ForLog(uri), ex.GetType().Name);
            return cached.Keys;
        }
    }
}

/// <summary>The error codes of RFC 6749 §5.2 (and RFC 7009's), as the token endpoints answer them.</summary>
public static class OAuthErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string InvalidScope = "invalid_scope";
    public const string UnsupportedTokenType = "unsupported_token_type";
    public const string TemporarilyUnavailable = "temporarily_unavailable";
}

internal static class BasicChallenge
{
    public static readonly string Value = new AuthenticationHeaderValue("Basic", "realm=\"gatehouse\"").ToString();
}
