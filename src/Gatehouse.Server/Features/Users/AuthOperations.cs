using System.Globalization;
using System.Net;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Users;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>The services of a login, injected as one parameter.</summary>
[FeatureApi]
public sealed class LoginServices(
    GatehouseDb db, ChangeSet changes, PasswordHasher hasher, LoginThrottle throttle, SessionCache sessions, SecretHasher secrets,
    AuthenticationServices authentication, UsersOptions options, TimeProvider clock, IEnumerable<ILoginPolicy> policies)
{
    public IEnumerable<ILoginPolicy> Policies => policies;
    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public PasswordHasher Hasher => hasher;
    public LoginThrottle Throttle => throttle;
    public SessionCache Sessions => sessions;
    public SecretHasher Secrets => secrets;
    public AuthenticationServices Authentication => authentication;
    public UsersOptions Options => options;
    public TimeProvider Clock => clock;
}

/// <summary>Login, logout, the current session and password change; the web console logs in through <see cref="Login"/>.</summary>
[FeatureApi]
public static class AuthOperations
{
    /// <summary>The one answer of every failed login, whatever the reason: no oracle for which emails exist.</summary>
    public const string LoginFailedMessage = "The email or password is incorrect.";

    public static async Task<Results<ApiOk<LoginResponse>, ApiError>> Login(LoginRequest request, HttpContext httpContext, LoginServices services, CancellationToken cancellationToken)
    {
        // The unauthenticated per-IP policy first: it counts every attempt, well-formed, hashed or not.
        if (await services.Authentication.CheckAnonymousAsync(httpContext, cancellationToken) is { } limited)
        {
            return limited;
        }

        var validation = new Validation().Required("email", request.Email, 254).Required("password", request.Password, PasswordPolicy.MaxLength * 4);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var ip = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (await services.Throttle.RetryAfterAsync(services.Db, request.Email!, ip, cancellationToken) is { } wait)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            var throttled = new ApiError(ErrorCodes.RateLimitExceeded, $"Too many failed logins for this account from this address; retry in {seconds} s.",
                new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds });
            throttled.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
            return throttled;
        }

        var db = services.Db;
        var user = await FindAsync(db, request.Email!, request.OrgId, cancellationToken);
        // Always one hash, against the user's or a dummy: the time does not tell whether the email exists.
        var passwordMatches = await services.Hasher.VerifyAsync(request.Password!, user?.PasswordHash, cancellationToken);
        if (user is null || !passwordMatches || user.Disabled)
        {
            await services.Throttle.RecordFailureAsync(db, request.Email!, ip, cancellationToken);
            var reason = user is null ? "unknown_email" : user.Disabled ? "disabled" : "wrong_password";
            services.Changes.Record(AuthActions.LoginFailed, user?.OrgId, user?.Id, new { email = request.Email!.Trim(), reason });
            await services.Changes.CommitAsync(cancellationToken);
            return LoginFailed();
        }

        if (user.OrgId is { } userOrg)
        {
            foreach (var policy in services.Policies)
            {
                if (await policy.CheckAsync(userOrg, user.Id, httpContext.Connection.RemoteIpAddress, cancellationToken) is { } refusal)
                {
                    services.Changes.Record(AuthActions.LoginFailed, user.OrgId, user.Id, new { email = request.Email!.Trim(), reason = refusal.Reason });
                    await services.Changes.CommitAsync(cancellationToken);
                    var details = new Dictionary<string, object?>(refusal.Details) { ["reason"] = refusal.Reason };
                    return new ApiError(ErrorCodes.Forbidden, refusal.Message, details);
                }
            }
        }

        await services.Throttle.RecordSuccessAsync(db, request.Email!, ip, cancellationToken);
        var now = services.Clock.GetUtcNow().UtcDateTime;
        if (services.Hasher.NeedsRehash(user.PasswordHash!))
        {
            // The cost was raised since this hash was made: upgrade it now that the password is known.
            user.PasswordHash = await services.Hasher.HashAsync(request.Password!, cancellationToken);
        }

        var (session, token) = NewSession(user, httpContext, services, now);
        user.LastLoginAt = now;
        db.Add(session);
        services.Changes.Record(AuthActions.Login, user.OrgId, user.Id, new { sessionId = session.Id, method = "password" }, actor: ("user", user.Id));
        await services.Changes.CommitAsync(cancellationToken);
        SetCookie(httpContext, token, session.ExpiresAt);
        return new ApiOk<LoginResponse>(new LoginResponse(UserView.From(user), new LoginSession(session.Id, session.ExpiresAt), token));
    }

    public static async Task<Results<ApiOk<LogoutResponse>, ApiError>> Logout(LogoutRequest? request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SessionCache sessions, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (RequireSession(httpContext) is not { } principal)
        {
            return SessionRequired();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var all = request?.All == true;
        var ended = await changes.RunAsync(async ct =>
        {
            var query = db.SessionsOf(principal.OrgId, principal.SubjectId!).Where(s => s.EndedAt == null);
            if (!all)
            {
                query = query.Where(s => s.Id == principal.CredentialId);
            }

            var count = await query.ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now), ct);
            changes.Record(AuthActions.Logout, principal.OrgId, principal.SubjectId, new { sessionId = principal.CredentialId, all, endedSessions = count });
            return count;
        }, cancellationToken);
        if (all)
        {
            sessions.EvictUser(principal.SubjectId!);
        }
        else
        {
            sessions.EvictSession(principal.CredentialId);
        }

        ClearCookie(httpContext);
        return new ApiOk<LogoutResponse>(new LogoutResponse(ended));
    }

    public static async Task<Results<ApiOk<CurrentSessionResponse>, ApiError>> Current(HttpContext httpContext, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (RequireSession(httpContext) is not { } principal)
        {
            return SessionRequired();
        }

        var user = await db.UsersOf(principal.OrgId).AsNoTracking().FirstOrDefaultAsync(u => u.Id == principal.SubjectId, cancellationToken);
        var session = await db.SessionsOf(principal.OrgId, principal.SubjectId!).AsNoTracking().FirstOrDefaultAsync(s => s.Id == principal.CredentialId, cancellationToken);
        if (user is null || session is null)
        {
            return new ApiError(ErrorCodes.AuthenticationFailed, SessionCredentialResolver.InvalidSessionMessage);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        // lastSeenAt is stored at most once a minute; the cache knows the latest activity.
        session.LastSeenAt = now;
        return new ApiOk<CurrentSessionResponse>(new CurrentSessionResponse(UserView.From(user), SessionView.From(session, now), [.. principal.Permissions.Order(StringComparer.Ordinal)]));
    }

    public static async Task<Results<ApiOk<PasswordChangedResponse>, ApiError>> ChangePassword(
        ChangePasswordRequest request, HttpContext httpContext, LoginServices services, CancellationToken cancellationToken)
    {
        if (RequireSession(httpContext) is not { } principal)
        {
            return SessionRequired();
        }

        var validation = new Validation().Required("currentPassword", request.CurrentPassword, PasswordPolicy.MaxLength * 4);
        PasswordPolicy.Check(validation, "newPassword", request.NewPassword, required: true);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var db = services.Db;
        var user = await db.UsersOf(principal.OrgId).FirstOrDefaultAsync(u => u.Id == principal.SubjectId, cancellationToken);
        if (user is null)
        {
            return new ApiError(ErrorCodes.AuthenticationFailed, SessionCredentialResolver.InvalidSessionMessage);
        }

        // A stolen session must not become a way to guess the password: the login throttle applies.
        var ip = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (await services.Throttle.RetryAfterAsync(db, user.Email, ip, cancellationToken) is { } wait)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            var throttled = new ApiError(ErrorCodes.RateLimitExceeded, $"Too many wrong passwords; retry in {seconds} s.");
            throttled.Headers["Retry-After"] = seconds.ToString(CultureInfo.InvariantCulture);
            return throttled;
        }

        if (!await services.Hasher.VerifyAsync(request.CurrentPassword!, user.PasswordHash, cancellationToken))
        {
            await services.Throttle.RecordFailureAsync(db, user.Email, ip, cancellationToken);
            return ApiError.Validation("currentPassword", "is not the current password");
        }

        var now = services.Clock.GetUtcNow().UtcDateTime;
        user.PasswordHash = await services.Hasher.HashAsync(request.NewPassword!, cancellationToken);
        user.PasswordChangedAt = now;
        user.UpdatedAt = now;
        var ended = await services.Changes.RunAsync(async ct =>
        {
            var count = await UserOperations.EndSessionsAsync(db, user.OrgId, user.Id, now, exceptSessionId: principal.CredentialId, ct);
            services.Changes.Record(UserActions.PasswordChange, user.OrgId, user.Id, new { endedSessions = count });
            return count;
        }, cancellationToken);
        services.Sessions.EvictUser(user.Id);
        return new ApiOk<PasswordChangedResponse>(new PasswordChangedResponse(UserView.From(user), ended));
    }

    /// <summary>Exact key when the organization is named; otherwise the one user with the address anywhere (several: none).</summary>
    private static async Task<User?> FindAsync(GatehouseDb db, string email, string? orgId, CancellationToken cancellationToken)
    {
        if (orgId is not null)
        {
            var key = UserScope.EmailKey(orgId, email);
            return await db.Set<User>().FirstOrDefaultAsync(u => u.EmailKey == key, cancellationToken);
        }

        var suffix = "/" + UserScope.NormalizeEmail(email);
        var candidates = await db.Set<User>().Where(u => u.EmailKey.EndsWith(suffix)).Take(2).ToListAsync(cancellationToken);
        return candidates.Count == 1 ? candidates[0] : null;
    }

    internal static (UserSession Session, string Token) NewSession(User user, HttpContext httpContext, LoginServices services, DateTime now)
    {
        var token = SessionTokens.Generate();
        var userAgent = httpContext.Request.Headers.UserAgent.ToString();
        var session = new UserSession
        {
            Id = Ids.New("ses", services.Clock.GetUtcNow()),
            OrgId = user.OrgId,
            UserId = user.Id,
            Hash = services.Secrets.Hash(token),
            CreatedAt = now,
            LastSeenAt = now,
            ExpiresAt = now.AddHours(services.Options.SessionAbsoluteHours),
            IdleTimeoutSeconds = services.Options.SessionIdleMinutes * 60,
            Ip = httpContext.Connection.RemoteIpAddress?.ToString(),
            UserAgent = userAgent.Length == 0 ? null : userAgent[..Math.Min(userAgent.Length, 512)],
        };
        return (session, token);
    }

    internal static void SetCookie(HttpContext httpContext, string token, DateTime expiresAt) =>
        httpContext.Response.Cookies.Append(SessionTokens.CookieName, token, CookieOptionsFor(httpContext, expiresAt));

    private static void ClearCookie(HttpContext httpContext) =>
        httpContext.Response.Cookies.Delete(SessionTokens.CookieName, CookieOptionsFor(httpContext, expiresAt: null));

    /// <summary>
    /// HttpOnly, SameSite=Lax, Path=/ and Secure. Secure is dropped only for a client that is not a
    /// browser on plain HTTP over loopback (local development with curl or an HttpClient cookie jar,
    /// which would not send a Secure cookie back over http). A browser always gets it: browsers keep
    /// a <c>__Host-</c> cookie only when it is Secure, and accept Secure cookies from loopback http.
    /// Browsers are told apart by the Fetch Metadata header (<c>Sec-Fetch-Site</c>) they send.
    /// </summary>
    internal static CookieOptions CookieOptionsFor(HttpContext httpContext, DateTime? expiresAt) => new()
    {
        HttpOnly = true,
        Secure = httpContext.Request.IsHttps || httpContext.Connection.RemoteIpAddress is not { } address || !IPAddress.IsLoopback(address)
            || httpContext.Request.Headers.ContainsKey("Sec-Fetch-Site"),
        SameSite = SameSiteMode.Lax,
        Path = "/",
        Expires = expiresAt is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null,
    };

    private static Principal? RequireSession(HttpContext httpContext) =>
        httpContext.RequirePrincipal() is { Kind: ActorKind.UserSession, SubjectId: not null } principal ? principal : null;

    private static ApiError SessionRequired() =>
        new(ErrorCodes.Forbidden, "This route acts on a login session: authenticate with a session token, not an API key.");

    private static ApiError LoginFailed()
    {
        var error = new ApiError(ErrorCodes.AuthenticationFailed, LoginFailedMessage);
        error.Headers["WWW-Authenticate"] = "Bearer";
        return error;
    }
}
