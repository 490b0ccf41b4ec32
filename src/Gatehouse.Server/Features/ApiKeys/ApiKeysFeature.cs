using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>Settings of section <c>Gatehouse:ApiKeys</c>.</summary>
public sealed class ApiKeysOptions
{
    /// <summary>
    /// How often buffered verification counts and <c>lastUsedAt</c> are written (reads of usage and
    /// stats write this node's buffer first; a crash loses at most this much analytics). Unset: 60 s
    /// on SQLite (one node, whose reads are exact), 3 s on PostgreSQL, where a read on one node sees
    /// the other nodes' counts only once they flush.
    /// </summary>
    [Range(1, 3600)]
    public int? UsageFlushSeconds { get; set; }

    public const int SingleNodeFlushSeconds = 60;
    public const int SharedDatabaseFlushSeconds = 3;

    /// <summary>The flush interval in effect on <paramref name="provider"/>.</summary>
    public TimeSpan UsageFlushInterval(Platform.Storage.DatabaseProvider provider) => TimeSpan.FromSeconds(Math.Max(1,
        UsageFlushSeconds ?? (provider == Platform.Storage.DatabaseProvider.Postgres ? SharedDatabaseFlushSeconds : SingleNodeFlushSeconds)));
}

/// <summary>What happens to API keys.</summary>
public static class ApiKeyActions
{
    public static readonly AuditAction Create = new("api_key.create", "api_key", new WebhookEvent("api_key.created", "An API key was created.", "api_keys:read"));
    public static readonly AuditAction Update = new("api_key.update", "api_key", new WebhookEvent("api_key.updated", "An API key was changed.", "api_keys:read"));
    public static readonly AuditAction Rotate = new("api_key.rotate", "api_key", new WebhookEvent("api_key.rotated", "An API key was rotated.", "api_keys:read"));
    public static readonly AuditAction Revoke = new("api_key.revoke", "api_key", new WebhookEvent("api_key.revoked", "An API key was revoked.", "api_keys:read"));

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Rotate, Revoke];
}

/// <summary>
/// API keys: issue, verify, rotate and revoke, with permissions, roles, credits, rate limits and
/// usage. Organization keys with platform permissions also authenticate calls to this API.
/// </summary>
public sealed class ApiKeysFeature : Feature
{
    public override string Name => "ApiKeys";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("API keys", "Issue, verify, rotate and revoke API keys; usage and credits.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("api_keys:read", "List and read API keys and their usage."),
        new("api_keys:write", "Create, update, rotate and revoke API keys."),
        new("api_keys:verify", "Verify and validate API keys of the organization."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => ApiKeyActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<ApiKeysOptions>(Name);
        services.Metrics<KeyRecordCache>().Metrics<CreditSpender>();
        services.Services.AddSingleton<KeyUsageRecorder>();
        services.Services.AddSingleton<KeyVerifier>();
        services.Services.AddSingleton<VerifyEndpoint>();
        services.CredentialResolver<ApiKeyCredentialResolver>();
        services.Services.AddSingleton<IRoleHolders, ApiKeyRoleHolders>();
        services.Services.AddScoped<OwnedApiKeys>();
        services.Services.AddScoped<IOwnedCredentials>(provider => provider.GetRequiredService<OwnedApiKeys>());
        services.OrgData<ApiKeyOrgData>();
        services.ChangeSetParticipant<RoleChangeEviction>().AfterCommit<RoleChangeEviction>().ClusterChanges<KeyCacheClusterChanges>();
        services.Job<KeyUsageFlushService>().Job<KeyUsageFlushJob>();
        services.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.WithAddedModifier(
            o.SerializerOptions.TypeInfoResolver ?? new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(), KeyVerdictJson.Configure));
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var keys = routes.Api.MapGroup("/orgs/{orgId}/api-keys").WithTags("API keys");
        keys.MapPost("", CreateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("CreateApiKey").WithSummary("Create an API key (the key is returned once)");
        keys.MapGet("", ListApiKeys.Handle).RequirePermission("api_keys:read").WithName("ListApiKeys").WithSummary("List API keys (filters ownerId, enabled, q, includeRevoked)");
        keys.MapGet("/{keyId}", GetApiKey.Handle).RequirePermission("api_keys:read").WithName("GetApiKey").WithSummary("Get an API key");
        keys.MapPatch("/{keyId}", UpdateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("UpdateApiKey").WithSummary("Update an API key");
        keys.MapDelete("/{keyId}", RevokeApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("RevokeApiKey").WithSummary("Revoke an API key");
        keys.MapPost("/{keyId}/rotate", RotateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("RotateApiKey").WithSummary("Rotate an API key with a grace period (the new key is returned once)");
        keys.MapPost("/{keyId}/validate", ValidateApiKey.Handle).RequirePermission("api_keys:verify").WithName("ValidateApiKey").WithSummary("Check that a secret is this key, without spending anything");
        keys.MapGet("/{keyId}/usage", GetApiKeyUsage.Handle).RequirePermission("api_keys:read").WithName("GetApiKeyUsage").WithSummary("Verifications of a key by outcome per hour or day");

        // Seed 003 (Locktera): the same operations at its paths, in its bare snake_case JSON and with
        // its 200 for every success; the delete answers its confirmation message (docs/compatibility.md).
        var locktera = routes.Root.MapGroup("/v1/orgs/{orgId}/api_keys").WithTags(CompatibilityRoutes.Tag)
            .WithResponseProfile(ResponseProfile.BareSnakeCase with { SuccessStatus = StatusCodes.Status200OK });
        locktera.RejectUnknownQueryParameters();
        locktera.MapGet("", ListApiKeys.Handle).RequirePermission("api_keys:read").WithName("LockteraListApiKeys")
            .AliasOf("GET /api/v1/orgs/{orgId}/api-keys", "a bare array of keys");
        locktera.MapPost("", CreateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("LockteraCreateApiKey")
            .AliasOf("POST /api/v1/orgs/{orgId}/api-keys", "the key view with the key (returned once), status 200");
        locktera.MapDelete("/{keyId}", RevokeApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("LockteraDeleteApiKey")
            .WithResponseProfile(ResponseProfile.BareSnakeCase with { SuccessStatus = StatusCodes.Status200OK, SuccessMessage = "API key deleted successfully" })
            .AliasOf("DELETE /api/v1/orgs/{orgId}/api-keys/{keyId}", "{\"message\": \"API key deleted successfully\"}");

        // Outside the group: verify is written by hand for speed (see VerifyEndpoint).
        VerifyEndpoint.Map(routes.Root);
    }
}
