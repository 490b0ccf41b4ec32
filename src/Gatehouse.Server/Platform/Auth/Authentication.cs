using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// Reads <c>Authorization: Bearer …</c> or <c>X-API-Key</c> and resolves it into a principal
/// once per request. Whether a route needs one is decided by its endpoint filter, not here.
/// </summary>
public static class Authentication
{
    private const string ItemKey = "gatehouse.credential";

    public static async ValueTask<CredentialOutcome> ResolveAsync(HttpContext httpContext)
    {
        if (httpContext.Items.TryGetValue(ItemKey, out var cached) && cached is CredentialOutcome known)
        {
            return known;
        }

        var outcome = await ResolveUncachedAsync(httpContext);
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
            return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization[bearer.Length..].Trim() : "";
        }

        var apiKey = request.Headers["X-API-Key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }

    private static async ValueTask<CredentialOutcome> ResolveUncachedAsync(HttpContext httpContext)
    {
        var credential = ReadCredential(httpContext.Request);
        if (credential is null)
        {
            return CredentialOutcome.None;
        }

        if (credential.Length is 0 or > 512)
        {
            return CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, "The credential is malformed.");
        }

        foreach (var resolver in httpContext.RequestServices.GetServices<ICredentialResolver>())
        {
            var outcome = await resolver.ResolveAsync(credential, httpContext, httpContext.RequestAborted);
            if (outcome is not null)
            {
                return outcome;
            }
        }

        return CredentialOutcome.Failure(ErrorCodes.InvalidApiKey, "The API key is not valid.");
    }
}
