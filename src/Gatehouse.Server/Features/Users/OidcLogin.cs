using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Contracts;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// The providers' discovery documents and signing keys, fetched at first use and cached per issuer
/// (refreshed as the IdentityModel configuration manager decides, and at once when an ID token names
/// an unknown key). Plain http is used only for loopback issuers, which settings validation allows.
/// </summary>
public sealed class OidcProviders(IHttpClientFactory httpClients)
{
    public const string HttpClientName = "Gatehouse.Sso";
    private readonly ConcurrentDictionary<string, ConfigurationManager<OpenIdConnectConfiguration>> _managers = new(StringComparer.Ordinal);

    public HttpClient Http => httpClients.CreateClient(HttpClientName);

    public Task<OpenIdConnectConfiguration> DiscoverAsync(string issuer, CancellationToken cancellationToken) => ManagerFor(issuer).GetConfigurationAsync(cancellationToken);

    /// <summary>Fetches the document again at the next use (a key rotated at the provider).</summary>
    public void Refresh(string issuer) => ManagerFor(issuer).RequestRefresh();

    private ConfigurationManager<OpenIdConnectConfiguration> ManagerFor(string issuer) => _managers.GetOrAdd(issuer, i =>
        new ConfigurationManager<OpenIdConnectConfiguration>(
            i.TrimEnd('/') + "/.well-known/openid-configuration",
            new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(Http) { RequireHttps = !SsoOperations.IsLoopback(new Uri(i)) }));
}

/// <summary>
/// The provider's redirect back: code, state and iss (RFC 6749, RFC 9207), or an error; and what
/// providers add beside them (session management's session_state, Google's scope, authuser, prompt,
/// hd), accepted and ignored.
/// </summary>
public sealed record OidcCallbackQuery
{
    [FromQuery(Name = "code")]
    public string? Code { get; init; }

    [FromQuery(Name = "state")]
    public string? State { get; init; }

    [FromQuery(Name = "iss")]
    public string? Iss { get; init; }

    [FromQuery(Name = "error")]
    public string? Error { get; init; }

    [FromQuery(Name = "error_description")]
    public string? ErrorDescription { get; init; }

    [FromQuery(Name = "error_uri")]
    public string? ErrorUri { get; init; }

    [FromQuery(Name = "session_state")]
    public string? SessionState { get; init; }

    [FromQuery(Name = "scope")]
    public string? Scope { get; init; }

    [FromQuery(Name = "authuser")]
    public string? AuthUser { get; init; }

    [FromQuery(Name = "prompt")]
    public string? Prompt { get; init; }

    [FromQuery(Name = "hd")]
    public string? HostedDomain { get; init; }
}

/// <summary>The services of an OpenID Connect login, injected as one parameter.</summary>
public sealed class OidcLoginServices(
    LoginServices login, OidcProviders providers, VaultKeyring keyring, UsersOptions options, ILogger<OidcLoginServices> logger)
{
    public LoginServices Login => login;
    public OidcProviders Providers => providers;
    public VaultKeyring Keyring => keyring;
    public UsersOptions Options => options;
    public ILogger Logger => logger;
}

/// <summary>
/// Login through the organization's OpenID Connect provider: the authorization code flow with PKCE
/// (S256), state and nonce, ending in a normal session (docs/sso.md, decision 0024).
/// </summary>
public static class OidcLogin
{
    public const string LoginPath = "/api/v1/auth/oidc/login";
    public const string CallbackPath = "/api/v1/auth/oidc/callback";
    public const string JwksPath = "/api/v1/auth/oidc/jwks";
    public const string DefaultReturnTo = "/console";

    /// <summary>Ties a login to the browser that started it: a callback URL replayed elsewhere does not log anyone in.</summary>
    public const string BrowserCookieName = "__Host-gatehouse_oidc";

    private static readonly JsonWebTokenHandler TokenHandler = new();
    private static readonly string[] RolesField = ["roles"];
    private static readonly string[] EmailField = ["email"];

    public static async Task<Results<RedirectHttpResult, ApiError>> Login(
        [FromQuery] string? org, [FromQuery] string? returnTo, [FromQuery] string? loginHint, HttpContext httpContext, OidcLoginServices services, CancellationToken cancellationToken)
    {
        if (await services.Login.Authentication.CheckAnonymousAsync(httpContext, cancellationToken) is { } limited)
        {
            return limited;
        }

        if (string.IsNullOrWhiteSpace(org) || org.Length > 200)
        {
            return PageQuery.Bad("org", "is required: the organization's id or slug");
        }

        returnTo ??= DefaultReturnTo;
        if (!IsSameOriginPath(returnTo))
        {
            return PageQuery.Bad("returnTo", "must be a path on this server (starting with a single /)");
        }

        if (loginHint is { Length: > 254 })
        {
            return PageQuery.Bad("loginHint", "must be at most 254 characters");
        }

        var db = services.Login.Db;
        var orgId = await db.Set<Organization>().AsNoTracking().Where(o => (o.Id == org || o.Slug == org) && o.DeletedAt == null)
            .Select(o => o.Id).FirstOrDefaultAsync(cancellationToken);
        var settings = orgId is null ? null : await db.Owned<SsoSettings>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (settings is not { Enabled: true })
        {
            return NoSingleSignOn();
        }

        OpenIdConnectConfiguration provider;
        try
        {
            provider = await services.Providers.DiscoverAsync(settings.Issuer, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            services.Logger.LogWarning(ex, "The identity provider {Issuer} of {OrgId} could not be discovered", settings.Issuer, settings.OrgId);
            return ProviderUnavailable("The organization's identity provider could not be reached; try again later.");
        }

        // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
        if (!string.Equals(provider.Issuer, settings.Issuer, StringComparison.Ordinal) || string.IsNullOrEmpty(provider.AuthorizationEndpoint))
        {
            return ProviderUnavailable("The identity provider's discovery document names another issuer or no authorization endpoint; an administrator must correct the settings.");
        }

        var now = services.Login.Clock.GetUtcNow().UtcDateTime;
        var state = Base64Url(RandomNumberGenerator.GetBytes(32));
        var browser = httpContext.Request.Cookies[BrowserCookieName] is { Length: 43 } existing ? existing : Base64Url(RandomNumberGenerator.GetBytes(32));
        var secrets = services.Login.Secrets;
        db.Add(new SsoLoginState
        {
            Id = StateId(secrets, state),
            OrgId = settings.OrgId,
            Issuer = settings.Issuer,
            BrowserHash = secrets.Hash("sso-browser:" + browser),
            ReturnTo = returnTo,
            CreatedAt = now,
            ExpiresAt = now.AddMinutes(services.Options.SsoLoginMinutes),
        });
        // Expired logins are dropped as new ones start: the table stays as small as the logins in flight.
        await db.Set<SsoLoginState>().Where(s => s.ExpiresAt < now).ExecuteDeleteAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);

        httpContext.Response.Cookies.Append(BrowserCookieName, browser, AuthOperations.CookieOptionsFor(httpContext, now.AddMinutes(services.Options.SsoLoginMinutes)));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = settings.ClientId,
            ["redirect_uri"] = SsoOperations.RedirectUri(httpContext, services.Options),
            ["scope"] = string.Join(' ', settings.Scopes),
            ["state"] = state,
            ["nonce"] = Nonce(secrets, state),
            ["code_challenge"] = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(CodeVerifier(secrets, state)))),
            ["code_challenge_method"] = "S256",
        };
        if (!string.IsNullOrEmpty(loginHint))
        {
            query["login_hint"] = loginHint;
        }

        return TypedResults.Redirect(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(provider.AuthorizationEndpoint, query));
    }

    public static async Task<Results<RedirectHttpResult, ApiError>> Callback(
        [AsParameters] OidcCallbackQuery query, HttpContext httpContext, OidcLoginServices services, CancellationToken cancellationToken)
    {
        var (code, state, iss, error) = (query.Code, query.State, query.Iss, query.Error);
        if (await services.Login.Authentication.CheckAnonymousAsync(httpContext, cancellationToken) is { } limited)
        {
            return limited;
        }

        if (string.IsNullOrEmpty(state) || state.Length > 200)
        {
            return PageQuery.Bad("state", "is required: the state this server sent to the identity provider");
        }

        var db = services.Login.Db;
        var secrets = services.Login.Secrets;
        var now = services.Login.Clock.GetUtcNow().UtcDateTime;
        var stateId = StateId(secrets, state);
        var login = await db.Set<SsoLoginState>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == stateId, cancellationToken);
        if (login is null || login.UsedAt is not null || login.ExpiresAt <= now)
        {
            return BadState("The login state is unknown, already used or expired; start the login again.", "unknown_state");
        }

        // The state must come back to the browser that started the login (login CSRF: an attacker's
        // own callback URL opened in a victim's browser would otherwise log the victim in as the attacker).
        var browser = httpContext.Request.Cookies[BrowserCookieName];
        if (browser is null || !FixedTimeEquals(secrets.Hash("sso-browser:" + browser), login.BrowserHash))
        {
            return BadState("The login was started in another browser; start the login again here.", "browser_mismatch");
        }

        // Single use, on every node: whoever marks it first goes on, a replay stops here.
        if (await db.Set<SsoLoginState>().Where(s => s.Id == stateId && s.UsedAt == null).ExecuteUpdateAsync(u => u.SetProperty(s => s.UsedAt, now), cancellationToken) == 0)
        {
            return BadState("The login state is unknown, already used or expired; start the login again.", "unknown_state");
        }

        var settings = await db.Owned<SsoSettings>(login.OrgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        if (settings is not { Enabled: true })
        {
            return NoSingleSignOn();
        }

        var orgId = settings.OrgId;
        if (!string.Equals(settings.Issuer, login.Issuer, StringComparison.Ordinal))
        {
            return await FailAsync(services, orgId, null, "issuer_changed", cancellationToken);
        }

        if (error is not null)
        {
            return await FailAsync(services, orgId, null, "provider_error", cancellationToken, error.Length <= 64 ? error : error[..64]);
        }

        // RFC 9207: an answer that names another issuer came from another provider (mix-up attack).
        if (iss is not null && !string.Equals(iss, settings.Issuer, StringComparison.Ordinal))
        {
            return await FailAsync(services, orgId, null, "issuer_mismatch", cancellationToken);
        }

        if (string.IsNullOrEmpty(code) || code.Length > 4096)
        {
            return PageQuery.Bad("code", "is required: the authorization code from the identity provider");
        }

        OpenIdConnectConfiguration provider;
        string? idToken;
        try
        {
            provider = await services.Providers.DiscoverAsync(settings.Issuer, cancellationToken);
            if (provider.AuthorizationResponseIssParameterSupported && iss is null)
            {
                return await FailAsync(services, orgId, null, "issuer_missing", cancellationToken);
            }

            idToken = await ExchangeCodeAsync(services, settings, provider, code, CodeVerifier(secrets, state), SsoOperations.RedirectUri(httpContext, services.Options), cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            services.Logger.LogWarning(ex, "The identity provider {Issuer} of {OrgId} could not be reached", settings.Issuer, orgId);
            return ProviderUnavailable("The organization's identity provider could not be reached; try again later.");
        }

        if (idToken is null)
        {
            return await FailAsync(services, orgId, null, "code_rejected", cancellationToken);
        }

        var validated = await ValidateIdTokenAsync(services, settings, provider, idToken);
        if (validated.Token is not { } token)
        {
            return await FailAsync(services, orgId, null, validated.Reason!, cancellationToken);
        }

        if (!token.TryGetPayloadValue<string>("nonce", out var nonce) || !FixedTimeEquals(nonce, Nonce(secrets, state)))
        {
            return await FailAsync(services, orgId, null, "nonce_mismatch", cancellationToken);
        }

        return await SignInAsync(httpContext, services, settings, token, login.ReturnTo, cancellationToken);
    }

    private static async Task<Results<RedirectHttpResult, ApiError>> SignInAsync(
        HttpContext httpContext, OidcLoginServices services, SsoSettings settings, JsonWebToken token, string returnTo, CancellationToken cancellationToken)
    {
        var db = services.Login.Db;
        var orgId = settings.OrgId;
        var now = services.Login.Clock.GetUtcNow().UtcDateTime;
        var subject = token.Subject;
        if (string.IsNullOrEmpty(subject) || subject.Length > 255)
        {
            return await FailAsync(services, orgId, null, "subject_missing", cancellationToken);
        }

        token.TryGetPayloadValue<string>("email", out var email);
        var emailVerified = !token.TryGetPayloadValue<bool>("email_verified", out var verified) || verified;
        var claimValues = token.Claims.Where(c => c.Type == settings.RoleClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var matched = settings.RoleMappings.Where(m => claimValues.Contains(m.Value!)).Select(m => m.Role!);
        var granted = await new RoleDirectory(db).ExistingAsync(orgId, [.. settings.DefaultRoles.Concat(matched).Distinct(StringComparer.Ordinal)], cancellationToken);
        var managed = settings.RoleMappings.Select(m => m.Role!).ToHashSet(StringComparer.Ordinal);

        var identity = await db.Owned<UserIdentity>(orgId).FirstOrDefaultAsync(i => i.Issuer == settings.Issuer && i.Subject == subject, cancellationToken);
        var user = identity is null ? null : await db.UsersOf(orgId).FirstOrDefaultAsync(u => u.Id == identity.UserId, cancellationToken);
        var created = false;
        if (user is null)
        {
            if (string.IsNullOrWhiteSpace(email) || email.Length > 254 || !email.Contains('@', StringComparison.Ordinal))
            {
                return await FailAsync(services, orgId, null, "email_missing", cancellationToken);
            }

            var emailKey = UserScope.EmailKey(orgId, email);
            user = await db.Set<User>().FirstOrDefaultAsync(u => u.EmailKey == emailKey, cancellationToken);
            if (user is not null)
            {
                // Linking an existing account by its address trusts the provider with it: only an
                // address the provider verified, and only an account no more powerful than whoever
                // configured the provider (or that person could make an IdP log in as an administrator).
                if (!emailVerified)
                {
                    return await FailAsync(services, orgId, user.Id, "email_unverified", cancellationToken);
                }

                var held = await SessionCredentialResolver.EffectivePermissionsAsync(db, user, cancellationToken);
                if (PermissionCatalog.All.Any(p => Permission.Grants(held, p.Name) && !Permission.Grants(settings.ConfiguredWith, p.Name)))
                {
                    return await FailAsync(services, orgId, user.Id, "link_exceeds_configurer", cancellationToken);
                }
            }
            else
            {
                token.TryGetPayloadValue<string>("name", out var name);
                user = new User
                {
                    Id = Ids.New("usr", services.Login.Clock.GetUtcNow()),
                    OrgId = orgId,
                    Email = email.Trim(),
                    EmailKey = emailKey,
                    Name = string.IsNullOrWhiteSpace(name) ? email.Trim() : name.Trim()[..Math.Min(name.Trim().Length, 200)],
                    Roles = [.. granted],
                    Permissions = [.. settings.DefaultPermissions],
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                db.Add(user);
                created = true;
            }

            if (identity is null)
            {
                identity = new UserIdentity { OrgId = orgId, Issuer = settings.Issuer, Subject = subject, UserId = user.Id, CreatedAt = now, LastLoginAt = now };
                db.Add(identity);
            }
            else
            {
                // The user it named was deleted: the identity now names this one.
                identity.UserId = user.Id;
            }
        }

        if (user.Disabled)
        {
            db.ChangeTracker.Clear();
            return await FailAsync(services, orgId, user.Id, "disabled", cancellationToken);
        }

        // The rules other features add to login (the gateways' geo-fence) hold for single sign-on as for a password.
        foreach (var policy in services.Login.Policies)
        {
            if (await policy.CheckAsync(orgId, user.Id, httpContext.Connection.RemoteIpAddress, cancellationToken) is { } refusal)
            {
                db.ChangeTracker.Clear();
                services.Login.Changes.Record(AuthActions.LoginFailed, orgId, created ? null : user.Id, new { method = "oidc", reason = refusal.Reason });
                await services.Login.Changes.CommitAsync(cancellationToken);
                var details = new Dictionary<string, object?>(refusal.Details) { ["reason"] = refusal.Reason };
                return new ApiError(ErrorCodes.Forbidden, refusal.Message, details);
            }
        }

        // The mapped roles follow the provider at every login; roles given by hand (not named by any mapping) stay.
        var roles = user.Roles.Where(r => !managed.Contains(r) || granted.Contains(r, StringComparer.Ordinal))
            .Concat(granted).Distinct(StringComparer.Ordinal).ToList();
        var rolesChanged = !created && !roles.ToHashSet(StringComparer.Ordinal).SetEquals(user.Roles);
        if (rolesChanged)
        {
            user.Roles = roles;
            user.UpdatedAt = now;
        }

        var previousEmail = user.Email;
        var emailChanged = !created && await FollowProviderEmailAsync(db, user, email, emailVerified, now, cancellationToken);

        identity!.LastLoginAt = now;
        user.LastLoginAt = now;
        var (session, sessionToken) = AuthOperations.NewSession(user, httpContext, services.Login, now);
        var changes = services.Login.Changes;
        await changes.RunAsync(async ct =>
        {
            if (created)
            {
                // The session row refers to the user row, which the model does not know: the user is written first.
                await db.SaveChangesAsync(ct);
                changes.Record(UserActions.Create, orgId, user.Id, new { user.Email, user.Name, user.Roles, user.Permissions, user.Disabled, hasPassword = false, source = "oidc" });
            }
            else if (rolesChanged || emailChanged)
            {
                string[] fields = [.. rolesChanged ? RolesField : [], .. emailChanged ? EmailField : []];
                changes.Record(UserActions.Update, orgId, user.Id, new
                {
                    fields,
                    user.Roles,
                    user.Permissions,
                    user.Disabled,
                    previousEmail = emailChanged ? previousEmail : null,
                    email = emailChanged ? user.Email : null,
                    source = "oidc",
                });
            }

            db.Add(session);
            changes.Record(AuthActions.Login, orgId, user.Id, new { sessionId = session.Id, method = "oidc", issuer = settings.Issuer }, actor: ("user", user.Id));
        }, cancellationToken);
        if (rolesChanged || emailChanged)
        {
            services.Login.Sessions.EvictUser(user.Id);
        }

        AuthOperations.SetCookie(httpContext, sessionToken, session.ExpiresAt);
        return TypedResults.Redirect(returnTo);
    }

    /// <summary>
    /// A linked user's address follows the provider's, when the provider verified the new one and no
    /// other user of the organization has it (then the old address stays, and the next login tries again).
    /// </summary>
    private static async Task<bool> FollowProviderEmailAsync(Platform.Storage.GatehouseDb db, User user, string? email, bool verified, DateTime now, CancellationToken cancellationToken)
    {
        if (!verified || string.IsNullOrWhiteSpace(email) || email.Length > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        var key = UserScope.EmailKey(user.OrgId, email);
        if (key == user.EmailKey || await db.Set<User>().AnyAsync(u => u.EmailKey == key, cancellationToken))
        {
            return false;
        }

        user.Email = email.Trim();
        user.EmailKey = key;
        user.UpdatedAt = now;
        return true;
    }

    /// <summary>The authorization code for tokens at the provider's token endpoint; null when the provider refuses it (used, expired, wrong verifier).</summary>
    private static async Task<string?> ExchangeCodeAsync(
        OidcLoginServices services, SsoSettings settings, OpenIdConnectConfiguration provider, string code, string verifier, string redirectUri, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(provider.TokenEndpoint))
        {
            throw new InvalidOperationException("The provider's discovery document names no token endpoint.");
        }

        var ring = await services.Keyring.LoadAsync(services.Login.Db, settings.OrgId, cancellationToken)
            ?? throw new InvalidOperationException("The organization's data keys are gone; the client credential cannot be opened.");
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = verifier,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, provider.TokenEndpoint);
        if (settings.ClientAuthMethod == SsoClientAuth.PrivateKeyJwt)
        {
            var (sealedKey, publicJwk) = settings.SigningClientKey(services.Login.Clock.GetUtcNow().UtcDateTime);
            var pkcs8 = ring.Open(sealedKey ?? throw new InvalidOperationException("private_key_jwt settings hold no client key."), SsoSecrets.KeyAad(settings.OrgId));
            try
            {
                var kid = SsoClientKeys.Parse(publicJwk!).Kid;
                form["client_id"] = settings.ClientId;
                form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
                form["client_assertion"] = SsoClientKeys.Assertion(pkcs8, kid, settings.ClientId, provider.TokenEndpoint, services.Login.Clock.GetUtcNow());
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pkcs8);
            }
        }
        else
        {
            var secret = Encoding.UTF8.GetString(ring.Open(settings.SealedClientSecret, SsoSecrets.Aad(settings.OrgId)));
            // client_secret_basic is what every provider must accept (RFC 6749 §2.3.1); a provider that lists only client_secret_post gets that.
            var post = settings.ClientAuthMethod == SsoClientAuth.ClientSecretPost
                || (provider.TokenEndpointAuthMethodsSupported.Count > 0 && !provider.TokenEndpointAuthMethodsSupported.Contains(SsoClientAuth.ClientSecretBasic)
                    && provider.TokenEndpointAuthMethodsSupported.Contains(SsoClientAuth.ClientSecretPost));
            if (post)
            {
                form["client_id"] = settings.ClientId;
                form["client_secret"] = secret;
            }
            else
            {
                var basic = $"{Uri.EscapeDataString(settings.ClientId)}:{Uri.EscapeDataString(secret)}";
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
            }
        }

        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await services.Providers.Http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        return body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("id_token", out var idToken) && idToken.ValueKind == JsonValueKind.String
            ? idToken.GetString()
            : null;
    }

    /// <summary>Signature (the provider's JWKS), issuer, audience, expiry; a key the cache lacks triggers one refresh.</summary>
    private static async Task<(JsonWebToken? Token, string? Reason)> ValidateIdTokenAsync(
        OidcLoginServices services, SsoSettings settings, OpenIdConnectConfiguration provider, string idToken)
    {
        var clock = services.Login.Clock;
        for (var attempt = 0; ; attempt++)
        {
            var parameters = new TokenValidationParameters
            {
                ValidIssuer = settings.Issuer,
                ValidAudience = settings.ClientId,
                IssuerSigningKeys = provider.SigningKeys,
                RequireSignedTokens = true,
                RequireExpirationTime = true,
                ValidateLifetime = true,
                ClockSkew = TimeSpan.FromMinutes(2),
                // The injected clock, not the machine's: expiry follows the same time as everything else here.
                LifetimeValidator = (notBefore, expires, _, validation) =>
                {
                    var now = clock.GetUtcNow().UtcDateTime;
                    return expires is { } end && now <= end.ToUniversalTime().Add(validation.ClockSkew)
                        && (notBefore is not { } start || now >= start.ToUniversalTime().Subtract(validation.ClockSkew));
                },
            };
            var result = await TokenHandler.ValidateTokenAsync(idToken, parameters);
            if (result.IsValid && result.SecurityToken is JsonWebToken token)
            {
                // OpenID Connect Core §3.1.3.7: with several audiences, azp must be this client.
                if (token.Audiences.Count() > 1 && (!token.TryGetPayloadValue<string>("azp", out var azp) || azp != settings.ClientId))
                {
                    return (null, "audience_mismatch");
                }

                return (token, null);
            }

            if (result.Exception is SecurityTokenSignatureKeyNotFoundException && attempt == 0)
            {
                services.Providers.Refresh(settings.Issuer);
                provider = await services.Providers.DiscoverAsync(settings.Issuer, CancellationToken.None);
                continue;
            }

            return (null, result.Exception switch
            {
                SecurityTokenInvalidIssuerException => "issuer_mismatch",
                SecurityTokenInvalidAudienceException => "audience_mismatch",
                SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenNoExpirationException => "id_token_expired",
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "id_token_signature",
                _ => "id_token_invalid",
            });
        }
    }

    private static async Task<ApiError> FailAsync(OidcLoginServices services, string orgId, string? userId, string reason, CancellationToken cancellationToken, string? providerError = null)
    {
        services.Login.Db.ChangeTracker.Clear();
        services.Login.Changes.Record(AuthActions.LoginFailed, orgId, userId, new { method = "oidc", reason, providerError });
        await services.Login.Changes.CommitAsync(cancellationToken);
        var details = new Dictionary<string, object?> { ["reason"] = reason };
        if (providerError is not null)
        {
            details["providerError"] = providerError;
        }

        var failed = new ApiError(ErrorCodes.AuthenticationFailed, "Single sign-on failed: the identity provider's answer was not accepted.", details);
        failed.Headers["WWW-Authenticate"] = "Bearer";
        return failed;
    }

    /// <summary>
    /// The public key of an organization's <c>private_key_jwt</c> client as a JWK Set (RFC 7517 §5), for
    /// providers registered with a <c>jwks_uri</c>. It is public by nature; a key that was rotated away is gone from it at once.
    /// </summary>
    public static async Task<Results<ContentHttpResult, ApiError>> Jwks([FromQuery] string? org, HttpContext httpContext, OidcLoginServices services, CancellationToken cancellationToken)
    {
        if (await services.Login.Authentication.CheckAnonymousAsync(httpContext, cancellationToken) is { } limited)
        {
            return limited;
        }

        if (string.IsNullOrWhiteSpace(org) || org.Length > 200)
        {
            return PageQuery.Bad("org", "is required: the organization's id or slug");
        }

        var db = services.Login.Db;
        var settings = await db.Set<Organization>().AsNoTracking().Where(o => (o.Id == org || o.Slug == org) && o.DeletedAt == null)
            .Join(db.Set<SsoSettings>(), o => o.Id, s => s.OrgId, (_, s) => s)
            .FirstOrDefaultAsync(cancellationToken);
        if (settings?.ClientPublicJwk is null)
        {
            return new ApiError(ErrorCodes.NotFound, "No organization with this id or slug authenticates to its provider with private_key_jwt.");
        }

        // Providers may cache it for five minutes: a rotated key is published here longer than that before it signs.
        httpContext.Response.Headers.CacheControl = "public, max-age=300";
        var keys = settings.PublishedClientJwks(services.Login.Clock.GetUtcNow().UtcDateTime).Select(SsoClientKeys.Parse).ToList();
        return TypedResults.Text(JsonSerializer.Serialize(new Contracts.OAuth.JwkSet(keys), JwksJson), "application/jwk-set+json");
    }

    private static readonly JsonSerializerOptions JwksJson = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static ApiError NoSingleSignOn() => new(ErrorCodes.NotFound, "No organization with this id or slug has single sign-on enabled.");

    private static ApiError ProviderUnavailable(string message) => new(ErrorCodes.ServiceUnavailable, message);

    private static ApiError BadState(string message, string reason) =>
        ApiError.Invalid(message, new Dictionary<string, object?> { ["reason"] = reason });

    /// <summary>A path of this server: one leading slash, no scheme, no host (<c>//evil</c>, <c>/\evil</c>), no control characters.</summary>
    internal static bool IsSameOriginPath(string path) =>
        path.Length is > 0 and <= 2048 && path[0] == '/' && (path.Length == 1 || (path[1] != '/' && path[1] != '\\'))
        && !path.Any(c => char.IsControl(c) || c == '\\');

    private static string StateId(Gatehouse.Crypto.SecretHasher secrets, string state) => secrets.Hash("sso-state:" + state);

    // The verifier and nonce are derived from the state with the server's pepper: nothing secret is stored for a login in flight.
    private static string CodeVerifier(Gatehouse.Crypto.SecretHasher secrets, string state) => secrets.Hash("sso-pkce:" + state);

    private static string Nonce(Gatehouse.Crypto.SecretHasher secrets, string state) => secrets.Hash("sso-nonce:" + state);

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
