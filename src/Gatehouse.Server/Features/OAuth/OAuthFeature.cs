using Gatehouse.Contracts.OAuth;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>What happens to OAuth clients, their tokens and the signing keys.</summary>
public static class OAuthActions
{
    public static readonly AuditAction Create = new("oauth_client.create", "oauth_client",
        new WebhookEvent("oauth_client.created", "An OAuth client was registered.", "oauth_clients:read"));

    public static readonly AuditAction Update = new("oauth_client.update", "oauth_client",
        new WebhookEvent("oauth_client.updated", "An OAuth client was changed, disabled (its tokens die) or enabled.", "oauth_clients:read"));

    public static readonly AuditAction Delete = new("oauth_client.delete", "oauth_client",
        new WebhookEvent("oauth_client.deleted", "An OAuth client was deleted; its tokens fail from the next request.", "oauth_clients:read"));

    public static readonly AuditAction RotateSecret = new("oauth_client.rotate_secret", "oauth_client",
        new WebhookEvent("oauth_client.secret_rotated", "An OAuth client's secret was rotated (the old one works for the grace period).", "oauth_clients:read"));

    public static readonly AuditAction RevokeToken = new("oauth_token.revoke", "oauth_client");

    public static readonly AuditAction RotateSigningKey = new("oauth_signing_key.rotate", "oauth_signing_key");

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete, RotateSecret, RevokeToken, RotateSigningKey];
}

/// <summary>
/// OAuth 2.0 for machines (docs/oauth.md): clients of an organization obtain JWT access tokens with
/// the client-credentials grant; anyone checks them against the JWKS or by introspection, and this
/// API accepts them as Bearer credentials whose scopes are permissions.
/// </summary>
public sealed class OAuthFeature : Feature
{
    public override string Name => "OAuth";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("OAuth clients", "OAuth 2.0 clients of an organization (client-credentials grant), their secrets and keys."),
        ("OAuth", "The token, introspection and revocation endpoints, server metadata and the JWKS (RFC 6749, 7662, 7009, 8414); plain RFC JSON, no envelope."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("oauth_clients:read", "List and read OAuth clients; introspect access tokens."),
        new("oauth_clients:write", "Register, change, rotate and delete OAuth clients; revoke their tokens."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => OAuthActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<OAuthOptions>(Name);
        services.Services.AddSingleton<OAuthClientCache>();
        services.Services.AddSingleton<SigningKeyStore>();
        services.Services.AddSingleton<AccessTokens>();
        services.Services.AddSingleton<RevokedTokens>();
        services.Services.AddSingleton<JwksFetcher>();
        services.Services.AddSingleton<ClientAuthenticator>();
        services.Services.AddSingleton<DpopProofs>();
        services.Services.AddSingleton<OAuthServices>();
        services.Services.AddScoped<OAuthClientServices>();
        services.Services.AddScoped<OwnedOAuthClients>();
        services.Services.AddScoped<IOwnedCredentials>(provider => provider.GetRequiredService<OwnedOAuthClients>());
        services.CredentialResolver<OAuthTokenResolver>();
        services.OrgData<OAuthClientOrgData>();
        services.Job<SigningKeyRotationJob>().Job<OAuthTokenPrune>().ClusterChanges<OAuthClusterChanges>();
        services.Services.AddHttpClient(JwksFetcher.HttpClientName)
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<WebhookUrlPolicy>().CreateHandler());
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var clients = routes.Api.MapGroup("/orgs/{orgId}/oauth-clients").WithTags("OAuth clients");
        clients.MapPost("", OAuthClientOperations.Create).RequirePermission("oauth_clients:write").GuardsEscalation()
            .WithName("CreateOAuthClient").WithSummary("Register an OAuth client (its secret is returned once)");
        clients.MapGet("", OAuthClientOperations.List).RequirePermission("oauth_clients:read").WithName("ListOAuthClients").WithSummary("List OAuth clients");
        clients.MapGet("/{clientId}", OAuthClientOperations.Get).RequirePermission("oauth_clients:read").WithName("GetOAuthClient").WithSummary("Get an OAuth client");
        clients.MapPatch("/{clientId}", OAuthClientOperations.Update).RequirePermission("oauth_clients:write").GuardsEscalation()
            .WithName("UpdateOAuthClient").WithSummary("Update, disable (its tokens die) or enable an OAuth client");
        clients.MapDelete("/{clientId}", OAuthClientOperations.Delete).RequirePermission("oauth_clients:write").GuardsEscalation()
            .WithName("DeleteOAuthClient").WithSummary("Delete an OAuth client; its tokens fail from the next request");
        clients.MapPost("/{clientId}/rotate-secret", OAuthClientOperations.RotateSecret).RequirePermission("oauth_clients:write").GuardsEscalation()
            .WithName("RotateOAuthClientSecret").WithSummary("Issue a new client secret; the old one works for the grace period (returned once)");

        var keys = routes.Api.MapGroup("/admin/oauth/signing-keys").WithTags("OAuth");
        keys.MapGet("", SigningKeyOperations.List).RequireRoot().WithName("ListSigningKeys").WithSummary("The token-signing keys with their status (pending, active, retired)");
        keys.MapPost("/rotate", SigningKeyOperations.Rotate).RequireRoot().WithName("RotateSigningKey")
            .WithSummary("Publish a new signing key; it signs after the lead time and the old key stays published until its tokens expire");

        var root = routes.Root;
        root.MapPost(OAuthEndpoints.TokenPath, OAuthEndpoints.Token).WithTags("OAuth").WithName("OAuthToken")
            .WithMetadata(new DocumentedFormBody(typeof(TokenRequestForm)))
            .Produces<TokenResponse>(200).Produces<OAuthErrorResponse>(400).Produces<OAuthErrorResponse>(401).Produces<OAuthErrorResponse>(429)
            .WithSummary("Client-credentials grant: a JWT access token for an authenticated client (client_secret_basic, client_secret_post or private_key_jwt)");
        root.MapPost(OAuthEndpoints.IntrospectPath, OAuthEndpoints.Introspect).WithTags("OAuth").WithName("OAuthIntrospect")
            .WithMetadata(new DocumentedFormBody(typeof(TokenActionForm)))
            .Produces<IntrospectionResponse>(200).Produces<OAuthErrorResponse>(400).Produces<OAuthErrorResponse>(401).Produces<OAuthErrorResponse>(403).Produces<OAuthErrorResponse>(429)
            .WithSummary("RFC 7662 introspection, by a client of the token's organization or a credential with oauth_clients:read");
        root.MapPost(OAuthEndpoints.RevokePath, OAuthEndpoints.Revoke).WithTags("OAuth").WithName("OAuthRevoke")
            .WithMetadata(new DocumentedFormBody(typeof(TokenActionForm)))
            .Produces(200).Produces<OAuthErrorResponse>(400).Produces<OAuthErrorResponse>(401).Produces<OAuthErrorResponse>(403).Produces<OAuthErrorResponse>(429)
            .WithSummary("RFC 7009 revocation by the token's client or a credential with oauth_clients:write (200 for unknown tokens too)");
        root.MapGet(OAuthEndpoints.MetadataPath, OAuthEndpoints.Metadata).WithTags("OAuth").WithName("OAuthServerMetadata")
            .Produces<AuthorizationServerMetadata>(200).WithSummary("RFC 8414 authorization server metadata");
        root.MapGet(OAuthEndpoints.JwksPath, OAuthEndpoints.Jwks).WithTags("OAuth").WithName("OAuthJwks")
            .Produces<JwkSet>(200, "application/jwk-set+json").WithSummary("The public token-signing keys (pending, active and retired ones still published)");
    }
}
