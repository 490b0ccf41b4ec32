using Gatehouse.Contracts;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// Reads <c>Authorization: Bearer …</c>, <c>X-API-Key</c>, <c>X-Gateway-Token</c> or the session cookie and resolves it into a principal
/// once per request. Whether a route needs one is decided by its endpoint filter, not here.
/// </summary>
public static class Authentication
{
    private const string ItemKey = "gatehouse.credential";

    /// <summary>The one message of every rejected API key, whatever the reason.</summary>
    public const string InvalidApiKeyMessage = "The API key is not valid.";

    public static async ValueTask<CredentialOutcome> ResolveAsync(HttpContext httpContext)
    {
        if (httpContext.Items.TryGetValue(ItemKey, out var cached) && cached is CredentialOutcome known)
        {
            return known;
        }

        var outcome = await ResolveUncachedAsync(httpContext, httpContext.RequestServices.GetRequiredService<AuthenticationServices>(), httpContext.RequestAborted);
        httpContext.Items[ItemKey] = outcome;
        return outcome;
    }

    public static Principal? GetPrincipal(this HttpContext httpContext) =>
        httpContext.Items.TryGetValue(ItemKey, out var cached) && cached is CredentialOutcome outcome ? outcome.Principal : null;

    public static Principal RequirePrincipal(this HttpContext httpContext) =>
        httpContext.GetPrincipal() ?? throw new InvalidOperationException("The endpoint has no authorization filter.");

    public static string? ReadCredential(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            const string bearer = "Bearer ";
            // A sender-constrained token (RFC 9449) comes with the DPoP scheme; its resolver checks the proof.
            const string dpop = "DPoP ";
            return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization[bearer.Length..].Trim()
                : authorization.StartsWith(dpop, StringComparison.OrdinalIgnoreCase) ? authorization[dpop.Length..].Trim()
                : "";
        }

        var apiKey = request.Headers["X-API-Key"].ToString();
        if (apiKey.Length > 0)
        {
            return apiKey.Trim();
        }

        // A gateway agent's token (GateKey's header); its resolver recognises the gkg_ prefix.
        var gatewayToken = request.Headers[GatewayTokenHeader].ToString();
        if (gatewayToken.Length > 0)
        {
            return gatewayToken.Trim();
        }

        // Last: a browser's login session. Unsafe requests it authenticates must pass the Origin check.
        return request.Cookies.TryGetValue(SessionCookieName, out var session) && session.Length > 0 ? session : null;
    }

    /// <summary>The header a gateway agent sends its token in.</summary>
    public const string GatewayTokenHeader = "X-Gateway-Token";

    /// <summary>The cookie a login sets (the Users feature); a <c>__Host-</c> cookie is bound to this host, path /, Secure.</summary>
    public const string SessionCookieName = "__Host-gatehouse_session";

    private const int MaxSecretLength = 512;
    private const int MaxTokenLength = 4096;

    /// <summary>
    /// Resolves the credential without remembering the outcome on the request: for a handler that
    /// keeps the principal itself (verify), which then never touches the request's item bag.
    /// </summary>
    public static async ValueTask<CredentialOutcome> ResolveUncachedAsync(HttpContext httpContext, AuthenticationServices services, CancellationToken cancellationToken)
    {
        var credential = ReadCredential(httpContext.Request);
        if (credential is null)
        {
            return CredentialOutcome.None;
        }

        // Opaque secrets are short; a signed token carries its claims and signature (an RS256 one runs to ~700 characters).
        var shape = credential.Length is 0 or > MaxTokenLength ? CredentialShape.OpaqueSecret : PresentedCredential.ShapeOf(credential);
        if (credential.Length == 0 || credential.Length > (shape == CredentialShape.Jwt ? MaxTokenLength : MaxSecretLength))
        {
            return CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, "The API key is malformed.");
        }

        // Only opaque secrets are hashed: a signed token is checked by its signature, not looked up.
        var presented = new PresentedCredential(credential, shape, shape == CredentialShape.OpaqueSecret ? services.Hasher.Digest(credential) : default);
        foreach (var resolver in services.ResolversOf(shape))
        {
            var outcome = await resolver.ResolveAsync(presented, httpContext, cancellationToken);
            if (outcome is not null)
            {
                return outcome;
            }
        }

        return CredentialOutcome.Failure(ErrorCodes.InvalidApiKey, InvalidApiKeyMessage);
    }
}

/// <summary>
/// The singletons every authenticated request needs, resolved once: enumerating them from the
/// request's service scope allocated a new array per request and per kind.
/// </summary>
public sealed class AuthenticationServices(
    Gatehouse.Crypto.SecretHasher hasher,
    IEnumerable<ICredentialResolver> resolvers,
    IEnumerable<IRequestGate> gates,
    IEnumerable<IAnonymousRequestGate> anonymousGates,
    IEnumerable<IAuthenticationFailureObserver> failureObservers,
    Tenancy.OrgDirectory orgs)
{
    public Gatehouse.Crypto.SecretHasher Hasher => hasher;
    private readonly ICredentialResolver[] _opaque = [.. resolvers.Where(r => r.Shape == CredentialShape.OpaqueSecret)];
    private readonly ICredentialResolver[] _jwt = [.. resolvers.Where(r => r.Shape == CredentialShape.Jwt)];

    /// <summary>The resolvers of one credential shape, in registration order.</summary>
    public ICredentialResolver[] ResolversOf(CredentialShape shape) => shape == CredentialShape.Jwt ? _jwt : _opaque;
    public IRequestGate[] Gates { get; } = [.. gates];
    public IAnonymousRequestGate[] AnonymousGates { get; } = [.. anonymousGates];

    /// <summary>Every unauthenticated-request gate (the per-IP budget) in turn; the first refusal, or null.</summary>
    public async ValueTask<Http.ApiError?> CheckAnonymousAsync(HttpContext httpContext, CancellationToken cancellationToken)
    {
        foreach (var gate in AnonymousGates)
        {
            if (await gate.CheckAnonymousAsync(httpContext, cancellationToken) is { } refused)
            {
                return refused;
            }
        }

        return null;
    }
    public IAuthenticationFailureObserver[] FailureObservers { get; } = [.. failureObservers];
    public Tenancy.OrgDirectory Orgs => orgs;
}
