using System.Security.Cryptography;
using Gatehouse.Contracts;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>The session token format: <c>gks_</c> and 32 random bytes in base64url (256 bits).</summary>
public static class SessionTokens
{
    public const string Prefix = "gks_";
    public const string CookieName = Authentication.SessionCookieName;
    private const int RandomBytes = 32;
    private const int Length = 4 + 43;

    public static string Generate() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(RandomBytes));

    /// <summary>Prefix and length only: anything else is not a session token and is left to other resolvers.</summary>
    public static bool LooksLike(string text) => text.Length == Length && text.StartsWith(Prefix, StringComparison.Ordinal);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// Resolves <c>gks_…</c> tokens (from <c>Authorization: Bearer</c> or the session cookie) to the
/// user's principal. A cached session costs no database round trip; <c>lastSeenAt</c> is written at
/// most once a minute. An ended, expired, idle or unknown session, or one of a disabled user, fails
/// with one answer.
/// </summary>
public sealed class SessionCredentialResolver(SessionCache cache, IServiceScopeFactory scopes, TimeProvider clock) : ICredentialResolver
{
    public const string InvalidSessionMessage = "The session is not valid; log in again.";

    private static readonly CredentialOutcome Invalid = CredentialOutcome.Failure(ErrorCodes.AuthenticationFailed, InvalidSessionMessage);

    public CredentialShape Shape => CredentialShape.OpaqueSecret;

    public async ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!SessionTokens.LooksLike(credential.Text))
        {
            return null;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (cache.TryGet(credential.Digest, out var cached))
        {
            cache.CountHit();
        }
        else
        {
            cache.CountMiss();
            var generation = cache.Generation;
            cached = await LoadAsync(credential, now, cancellationToken);
            if (cached is null)
            {
                return Invalid;
            }

            cache.Add(credential.Digest, cached, generation);
        }

        if (!cached.IsLive(now))
        {
            cache.Evict(credential.Digest);
            return Invalid;
        }

        if (cached.Touch(now))
        {
            await PersistLastSeenAsync(cached.SessionId, now, cancellationToken);
        }

        return cached.Outcome;
    }

    private async Task<CachedSession?> LoadAsync(PresentedCredential credential, DateTime now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var hash = credential.Digest.ToHex();
        var session = await db.Set<UserSession>().AsNoTracking().FirstOrDefaultAsync(s => s.Hash == hash, cancellationToken);
        if (session is null || !session.IsActive(now))
        {
            return null;
        }

        var user = await db.UsersOf(session.OrgId).AsNoTracking().FirstOrDefaultAsync(u => u.Id == session.UserId, cancellationToken);
        if (user is null || user.Disabled)
        {
            return null;
        }

        var permissions = await EffectivePermissionsAsync(db, user, cancellationToken);
        var principal = new Principal(ActorKind.UserSession, session.Id, user.OrgId, permissions, AuthenticationMethod.SessionToken)
        {
            SubjectId = user.Id,
            ActsAsRoot = user.IsPlatformAdministrator,
        };
        return new CachedSession(session, CredentialOutcome.Success(principal));
    }

    /// <summary>A user's own permissions with those of their roles; a platform administrator holds <c>*</c>.</summary>
    internal static async Task<IReadOnlyCollection<string>> EffectivePermissionsAsync(GatehouseDb db, User user, CancellationToken cancellationToken)
    {
        if (user.OrgId is not { } orgId)
        {
            return [Permission.All];
        }

        var permissions = new HashSet<string>(user.Permissions, StringComparer.Ordinal);
        permissions.UnionWith(await new RoleDirectory(db).ExpandAsync(orgId, user.Roles, cancellationToken));
        return [.. permissions];
    }

    private async Task PersistLastSeenAsync(string sessionId, DateTime now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await db.Set<UserSession>().Where(s => s.Id == sessionId && s.EndedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.LastSeenAt, now), cancellationToken);
    }
}

/// <summary>
/// Cross-site request forgery: a browser sends the session cookie with any request to this host,
/// whoever wrote the page. A request authenticated by the cookie (not by a header the page would
/// have to set itself) that changes state must therefore carry the <c>Origin</c> of this server.
/// </summary>
internal sealed class SessionCookieOriginGate : IRequestGate
{
    public ValueTask<Platform.Http.ApiError?> CheckAsync(HttpContext httpContext, Principal principal, CancellationToken cancellationToken)
    {
        var request = httpContext.Request;
        if (principal.Kind != ActorKind.UserSession || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
            || !AuthenticatedByCookie(request))
        {
            return ValueTask.FromResult<Platform.Http.ApiError?>(null);
        }

        var origin = request.Headers.Origin.ToString();
        var own = $"{request.Scheme}://{request.Host.Value}";
        return ValueTask.FromResult<Platform.Http.ApiError?>(string.Equals(origin, own, StringComparison.OrdinalIgnoreCase)
            ? null
            : new Platform.Http.ApiError(ErrorCodes.Forbidden,
                "A request authenticated by the session cookie that changes state must send an Origin header equal to this server's origin (cross-site request refused).",
                new Dictionary<string, object?> { ["expectedOrigin"] = own }));
    }

    /// <summary>No credential header: the credential was the cookie (see Authentication.ReadCredential).</summary>
    internal static bool AuthenticatedByCookie(HttpRequest request) =>
        request.Headers.Authorization.Count == 0 && request.Headers["X-API-Key"].Count == 0;
}
