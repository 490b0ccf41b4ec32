using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Users;

/// <summary>Settings of section <c>Gatehouse:Users</c>.</summary>
public sealed class UsersOptions
{
    /// <summary>A session unused this long ends.</summary>
    [Range(1, 24 * 60)]
    public int SessionIdleMinutes { get; set; } = 30;

    /// <summary>A session ends this long after its login, however active.</summary>
    [Range(1, 24 * 30)]
    public int SessionAbsoluteHours { get; set; } = 12;

    /// <summary>Argon2id memory of new password hashes, in KiB (OWASP: 19 MiB with 2 passes, or more memory with fewer).</summary>
    [Range(7 * 1024, 4 * 1024 * 1024)]
    public int PasswordMemoryKiB { get; set; } = 19 * 1024;

    /// <summary>Argon2id passes of new password hashes.</summary>
    [Range(1, 20)]
    public int PasswordIterations { get; set; } = 2;

    /// <summary>
    /// The URL users reach this server at (<c>https://gatehouse.example.com</c>), for the single sign-on
    /// redirect URI registered at identity providers; absent: the scheme and host of each request.
    /// </summary>
    [Url]
    public string? PublicBaseUrl { get; set; }

    /// <summary>How long a single sign-on login may take at the identity provider before its state expires.</summary>
    [Range(1, 60)]
    public int SsoLoginMinutes { get; set; } = 10;

    /// <summary>
    /// How long a rotated <c>private_key_jwt</c> client key is published before it signs: longer than providers
    /// cache the JWKS (it is served with a 5-minute max-age), so none meets a key it has not fetched. 0 signs at once.
    /// </summary>
    [Range(0, 1440)]
    public int SsoClientKeyLeadMinutes { get; set; } = 10;
}

/// <summary>What happens to users.</summary>
public static class UserActions
{
    public static readonly AuditAction Create = new("user.create", "user", new WebhookEvent("user.created", "A user was created.", "users:read"));
    public static readonly AuditAction Update = new("user.update", "user", new WebhookEvent("user.updated", "A user was changed (name, roles, permissions, disabled).", "users:read"));
    public static readonly AuditAction Delete = new("user.delete", "user", new WebhookEvent("user.deleted", "A user was deleted; their sessions ended and their credentials were revoked.", "users:read"));
    public static readonly AuditAction PasswordChange = new("user.password_change", "user");

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete, PasswordChange];
}

/// <summary>Changes of an organization's single sign-on settings (never the client secret itself).</summary>
public static class SsoActions
{
    public static readonly AuditAction Update = new("sso.update", "org", new WebhookEvent("sso.updated", "The organization's single sign-on settings were saved.", "users:read"));
    public static readonly AuditAction Delete = new("sso.delete", "org", new WebhookEvent("sso.deleted", "The organization's single sign-on settings were removed.", "users:read"));

    public static readonly IReadOnlyList<AuditAction> All = [Update, Delete];
}

/// <summary>What happens at the door: logins, failed logins, logouts, sessions ended by an administrator.</summary>
public static class AuthActions
{
    public static readonly AuditAction Login = new("auth.login", "user");
    public static readonly AuditAction LoginFailed = new("auth.login_failed", "user");
    public static readonly AuditAction Logout = new("auth.logout", "user");
    public static readonly AuditAction SessionEnd = new("user.session_end", "user_session");

    public static readonly IReadOnlyList<AuditAction> All = [Login, LoginFailed, Logout, SessionEnd];
}

/// <summary>
/// People: users of an organization (or platform administrators), password login, sessions usable
/// as a bearer token or a cookie (docs/users.md).
/// </summary>
public sealed class UsersFeature : Feature
{
    public override string Name => "Users";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Users", "People of an organization, their roles and permissions, and their login sessions."),
        ("Authentication", "Password login, single sign-on through the organization's OpenID Connect provider, the current session, logout and password change."),
        ("Single sign-on", "The organization's OpenID Connect provider: issuer, client, scopes and what its users become."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("users:read", "List and read users."),
        new("users:write", "Create, update and delete users; list and end their sessions."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => [.. UserActions.All, .. AuthActions.All, .. SsoActions.All];

    public override void AddServices(FeatureServices services)
    {
        services.Options<UsersOptions>(Name);
        services.Services.AddSingleton<PasswordHasher>();
        services.Metrics<LoginThrottle>();
        services.Metrics<SessionCache>().ChangeSetParticipant<SessionCache>().AfterCommit<SessionCache>();
        services.CredentialResolver<SessionCredentialResolver>();
        services.Services.AddSingleton<IRequestGate, SessionCookieOriginGate>();
        services.Services.AddScoped<UserChangeServices>();
        services.Services.AddScoped<UserLookup>();
        services.Services.AddScoped<LoginServices>();
        services.OrgData<UserOrgData>();
        services.Job<SessionPrune>().ClusterChanges<SessionClusterChanges>();
        services.Services.AddScoped<SsoChangeServices>();
        services.Services.AddScoped<OidcLoginServices>();
        services.Services.AddSingleton<OidcProviders>();
        services.Services.AddScoped<Vault.IDataKeyUser, SsoDataKeyUser>();
        // Providers are fetched as configured by an organization administrator: no redirects followed, a short timeout.
        services.Services.AddHttpClient(OidcProviders.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10))
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var users = routes.Api.MapGroup("/orgs/{orgId}/users").WithTags("Users");
        users.MapPost("", UserOperations.Create).RequirePermission("users:write").GuardsEscalation().WithName("CreateUser").WithSummary("Create a user");
        users.MapGet("", UserOperations.List).RequirePermission("users:read").WithName("ListUsers").WithSummary("List users (filters email, q)");
        users.MapGet("/{userId}", UserOperations.Get).RequirePermission("users:read").WithName("GetUser").WithSummary("Get a user");
        users.MapPatch("/{userId}", UserOperations.Update).RequirePermission("users:write").GuardsEscalation().WithName("UpdateUser").WithSummary("Update a user (name, roles, permissions, disabled)");
        users.MapDelete("/{userId}", UserOperations.Delete).RequirePermission("users:write").GuardsEscalation().WithName("DeleteUser").WithSummary("Delete a user, end their sessions and revoke their credentials");
        users.MapGet("/{userId}/sessions", UserOperations.ListSessions).RequirePermission("users:write").WithName("ListUserSessions").WithSummary("List a user's sessions");
        users.MapDelete("/{userId}/sessions/{sessionId}", UserOperations.EndSession).RequirePermission("users:write").GuardsEscalation().WithName("EndUserSession").WithSummary("End one session of a user");

        var sso = routes.Api.MapGroup("/orgs/{orgId}/sso").WithTags("Single sign-on");
        sso.MapGet("", SsoOperations.Get).RequirePermission("users:read").WithName("GetSsoSettings").WithSummary("The organization's OpenID Connect provider settings and the redirect URI to register there");
        sso.MapPut("", SsoOperations.Put).RequirePermission("users:write").GuardsEscalation().WithName("PutSsoSettings")
            .WithSummary("Save the organization's OpenID Connect provider (the client secret is write-only)");
        sso.MapDelete("", SsoOperations.Delete).RequirePermission("users:write").GuardsEscalation().WithName("DeleteSsoSettings").WithSummary("Remove the organization's OpenID Connect provider; its logins stop");

        var admin = routes.Api.MapGroup("/admin/users").WithTags("Users");
        admin.MapGet("", UserOperations.ListAll).RequireRoot().WithName("ListAllUsers").WithSummary("List users of every organization (filters orgId, email, q)");
        admin.MapPost("", UserOperations.CreateAny).RequireRoot().GuardsEscalation().WithName("CreateAnyUser").WithSummary("Create a user of any organization, or a platform administrator (orgId null)");

        var auth = routes.Api.MapGroup("/auth").WithTags("Authentication");
        auth.MapPost("/local/login", AuthOperations.Login).AllowAnonymous().ProducesProblemEnvelope(401, 429).WithName("LoginWithPassword").WithSummary("Log in with email and password: a session token and cookie");
        auth.MapPost("/logout", AuthOperations.Logout).RequireCredential().WithName("Logout").WithSummary("End this session, or every session of the user (all: true)");
        auth.MapGet("/session", AuthOperations.Current).RequireCredential().WithName("GetCurrentSession").WithSummary("The session's user, session and effective permissions");
        auth.MapGet("/oidc/login", OidcLogin.Login).AllowAnonymous().Produces(302).ProducesProblemEnvelope(400, 404, 429, 503)
            .WithName("StartOidcLogin").WithSummary("Start single sign-on: a redirect to the organization's identity provider (?org=<id or slug>&returnTo=<path>)");
        auth.MapGet("/oidc/callback", OidcLogin.Callback).AllowAnonymous().Produces(302).ProducesProblemEnvelope(400, 401, 404, 429, 503)
            .WithName("CompleteOidcLogin").WithSummary("The identity provider's redirect back: validates it, starts a session (cookie) and redirects to returnTo");
        auth.MapGet("/oidc/jwks", OidcLogin.Jwks).AllowAnonymous().Produces<Gatehouse.Contracts.OAuth.JwkSet>(200, "application/jwk-set+json").ProducesProblemEnvelope(400, 404, 429)
            .WithName("GetOidcClientJwks").WithSummary("The public key an organization's private_key_jwt client signs with, as a JWK Set for the provider's jwks_uri");
        auth.MapPost("/password", AuthOperations.ChangePassword).RequireCredential().WithName("ChangePassword").WithSummary("Change the password; the user's other sessions end");
    }
}

internal static class OpenRouteMetadata
{
    /// <summary>Declares the error answers of a route without a credential requirement (which would declare them itself).</summary>
    public static TBuilder ProducesProblemEnvelope<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new Microsoft.AspNetCore.Http.ProducesResponseTypeMetadata(status, typeof(Gatehouse.Contracts.ErrorEnvelope), ["application/json"]));
        }

        return builder;
    }
}
