using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>Settings of section <c>Gatehouse:OAuth</c>.</summary>
public sealed class OAuthOptions
{
    /// <summary>The issuer (<c>iss</c>, metadata); absent: the scheme and host of each request. Set it behind a proxy.</summary>
    [Url]
    public string? Issuer { get; set; }

    /// <summary>A signing key signs this many days before the rotation job starts its successor.</summary>
    [Range(1, 3650)]
    public int SigningKeyRotationDays { get; set; } = 30;

    /// <summary>How long a new signing key is published in the JWKS before it signs.</summary>
    [Range(0, 86_400)]
    public int SigningKeyLeadSeconds { get; set; } = 3600;

    /// <summary>Token requests one client may make per minute.</summary>
    [Range(1, int.MaxValue)]
    public int TokenRequestsPerClientPerMinute { get; set; } = 6000;

    /// <summary>Failed client authentications one IP address may make per minute before the OAuth endpoints answer 429.</summary>
    [Range(1, int.MaxValue)]
    public int FailedAuthPerIpPerMinute { get; set; } = 50;
}

/// <summary>Who called introspection or revocation: a client (by its own authentication) or a principal (by a Bearer credential).</summary>
public sealed record OAuthCaller(ClientRecord? Client, Principal? Principal)
{
    public bool MaySee(string orgId) => Client is { } client ? client.OrgId == orgId : Principal!.CanAccessOrg(orgId);

    public (string Type, string Id) Actor => Client is { } client ? ("oauth_client", client.Id) : Principal!.Actor;
}

/// <summary>What the protocol endpoints share: the client authenticator, token service, limits and deny-list.</summary>
public sealed class OAuthServices(
    OAuthOptions options, ClientAuthenticator authenticator, AccessTokens tokens, RevokedTokens revoked, OAuthClientCache clients, RateLimiter limiter, DpopProofs dpop)
{
    public DpopProofs Dpop => dpop;
    public OAuthOptions Options => options;
    public ClientAuthenticator Authenticator => authenticator;
    public AccessTokens Tokens => tokens;
    public RateLimiter Limiter => limiter;

    public RateLimitRule[] ClientRules { get; } = [new("oauth_token_per_minute", options.TokenRequestsPerClientPerMinute, TimeSpan.FromMinutes(1))];

    private readonly RateLimitRule[] _failureRules = [new("oauth_failed_auth_per_minute", options.FailedAuthPerIpPerMinute, TimeSpan.FromMinutes(1))];

    private static string FailureSubject(HttpContext httpContext) => "oauth_failures_ip:" + (httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    /// <summary>A task writing 429 when this IP address already failed too often; null when it may go on.</summary>
    public async ValueTask<Task?> FailureLimitedAsync(HttpContext httpContext, CancellationToken cancellationToken)
    {
        var decision = await limiter.PeekAsync(FailureSubject(httpContext), _failureRules, 1, cancellationToken);
        if (decision.Allowed)
        {
            return null;
        }

        var retryAfter = (int)Math.Ceiling(decision.RetryAfter(limiter.Now).TotalSeconds);
        httpContext.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return OAuthEndpoints.WriteErrorAsync(httpContext, 429, OAuthErrors.TemporarilyUnavailable, "Too many failed client authentications from this address; retry later.");
    }

    /// <summary>Answers a failed or missing client authentication (and counts the failure); false when the client authenticated.</summary>
    public async Task<bool> RefuseClientAsync(HttpContext httpContext, ClientAuthResult? auth, CancellationToken cancellationToken)
    {
        if (auth?.Client is not null)
        {
            return false;
        }

        if (auth?.Error == OAuthErrors.InvalidRequest)
        {
            await OAuthEndpoints.WriteErrorAsync(httpContext, 400, OAuthErrors.InvalidRequest, auth.Description!);
            return true;
        }

        await limiter.TryConsumeAsync(FailureSubject(httpContext), _failureRules, 1, cancellationToken);
        await OAuthEndpoints.WriteErrorAsync(httpContext, 401, OAuthErrors.InvalidClient, auth?.Description ?? "Client authentication is required.");
        return true;
    }

    /// <summary>
    /// The caller of introspection or revocation: a Bearer credential holding <paramref name="permission"/>,
    /// or an authenticated client. Null when the answer (401, 403, 400) has been written.
    /// </summary>
    public async Task<OAuthCaller?> CallerAsync(HttpContext httpContext, IFormCollection form, string path, string permission, CancellationToken cancellationToken)
    {
        if (httpContext.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var outcome = await Authentication.ResolveAsync(httpContext);
            if (outcome.Principal is not { } principal)
            {
                await limiter.TryConsumeAsync(FailureSubject(httpContext), _failureRules, 1, cancellationToken);
                await OAuthEndpoints.WriteErrorAsync(httpContext, 401, OAuthErrors.InvalidClient, "The Bearer credential is not valid.");
                return null;
            }

            if (!principal.Has(permission))
            {
                await OAuthEndpoints.WriteErrorAsync(httpContext, 403, "insufficient_scope", $"The credential lacks the permission {permission}.");
                return null;
            }

            return new OAuthCaller(null, principal);
        }

        var issuer = OAuthEndpoints.IssuerOf(httpContext, options);
        var auth = await authenticator.AuthenticateAsync(httpContext, form, [issuer + path, issuer + OAuthEndpoints.TokenPath, issuer], cancellationToken);
        return await RefuseClientAsync(httpContext, auth, cancellationToken) ? null : new OAuthCaller(auth!.Client, null);
    }

    /// <summary>The token's claims and client when it is valid now: signed by us, unexpired, not revoked, its client live and not reset since.</summary>
    public async ValueTask<(AccessTokenClaims Claims, ClientRecord Client)?> LiveTokenAsync(string token, CancellationToken cancellationToken)
    {
        var claims = await tokens.ValidateAsync(token, cancellationToken);
        if (claims is null || await revoked.IsRevokedAsync(claims.Jti, cancellationToken))
        {
            return null;
        }

        var client = await clients.GetAsync(claims.ClientId, cancellationToken);
        return client is not null && client.OrgId == claims.OrgId && client.Accepts(claims.IssuedAt) ? (claims, client) : null;
    }

    /// <summary>Records the revocation and its audit event in one transaction; the deny-list learns it after the commit.</summary>
    public async Task RevokeAsync(GatehouseDb db, ChangeSet changes, AccessTokenClaims claims, OAuthCaller caller, CancellationToken cancellationToken)
    {
        if (await revoked.IsRevokedAsync(claims.Jti, cancellationToken))
        {
            return;
        }

        await changes.RunAsync(async ct =>
        {
            if (await db.Set<OAuthRevokedToken>().AnyAsync(t => t.Jti == claims.Jti, ct))
            {
                return;
            }

            db.Add(new OAuthRevokedToken { Jti = claims.Jti, OrgId = claims.OrgId, ClientId = claims.ClientId, ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt).UtcDateTime });
            changes.Record(OAuthActions.RevokeToken, claims.OrgId, claims.ClientId, new { jti = claims.Jti, reason = "revoked" }, caller.Actor);
        }, cancellationToken);
        revoked.Add(claims.Jti, claims.ExpiresAt);
    }
}

/// <summary>
/// Resolves a Bearer JWT to the principal of the OAuth client it was issued to. Its permissions are
/// the token's scopes that the client still holds (narrowing a client narrows its live tokens), and
/// the token's expiry is a restriction it passes on: a key it creates cannot outlive it.
/// </summary>
public sealed class OAuthTokenResolver(OAuthServices services) : ICredentialResolver
{
    public const string InvalidTokenMessage = "The access token is not valid.";

    private static readonly CredentialOutcome Invalid = CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, InvalidTokenMessage);

    private static readonly CredentialOutcome DpopRequired = CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed,
        "The access token is bound to a key: send it as Authorization: DPoP with a DPoP proof for this request.");

    public CredentialShape Shape => CredentialShape.Jwt;

    public async ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (await services.LiveTokenAsync(credential.Text, cancellationToken) is not { } live)
        {
            return Invalid;
        }

        var (claims, client) = live;
        ProofOfPossession? binding = null;
        var usesDpopScheme = httpContext.Request.Headers.Authorization.ToString().StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase);
        if (claims.Jkt is { } jkt)
        {
            // RFC 9449 §7.1: a bound token comes with the DPoP scheme and a fresh proof of the same key for this request.
            var proofs = httpContext.Request.Headers[DpopProofs.HeaderName];
            if (!usesDpopScheme || proofs.Count != 1)
            {
                return DpopRequired;
            }

            var request = httpContext.Request;
            var url = OAuthEndpoints.IssuerOf(httpContext, services.Options) + request.PathBase + request.Path;
            var (proofKey, error) = await services.Dpop.ValidateAsync(proofs[0]!, request.Method, url, credential.Text);
            if (error is not null || proofKey != jkt)
            {
                return CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, error ?? "The DPoP proof is signed by another key than the token is bound to.");
            }

            binding = new ProofOfPossession("dpop", jkt);
        }
        else if (usesDpopScheme)
        {
            return Invalid;
        }

        var permissions = claims.Scopes.Where(scope => Permission.Grants(client.Scopes, scope)).ToArray();
        return CredentialOutcome.Success(new Principal(ActorKind.OAuthClient, client.Id, client.OrgId, permissions, AuthenticationMethod.BearerToken)
        {
            OwnerId = client.OwnerId,
            Binding = binding,
            Restrictions = new CredentialRestrictions(DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt).UtcDateTime, []),
        });
    }
}
