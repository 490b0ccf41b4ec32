using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.ApiKeys;

public static class ApiKeyEndpoints
{
    public static IServiceCollection AddApiKeys(this IServiceCollection services)
    {
        services.AddSingleton<KeyRecordCache>();
        services.AddSingleton<IMetricsSource>(provider => provider.GetRequiredService<KeyRecordCache>());
        services.AddSingleton<KeyUsageRecorder>();
        services.AddSingleton<CreditSpender>();
        services.AddSingleton<IMetricsSource>(provider => provider.GetRequiredService<CreditSpender>());
        services.AddSingleton<KeyVerifier>();
        services.AddSingleton<VerifyEndpoint>();
        // After the root resolver: root keys are matched first, in constant time.
        services.AddSingleton<ICredentialResolver, ApiKeyCredentialResolver>();
        services.AddSingleton<IRoleHolders, ApiKeyRoleHolders>();
        services.AddSingleton<ApiKeyOrgData>();
        services.AddSingleton<IOrgDataEraser>(sp => sp.GetRequiredService<ApiKeyOrgData>());
        services.AddSingleton<IOrgStatsContributor>(sp => sp.GetRequiredService<ApiKeyOrgData>());
        services.AddSingleton<IAuditCommitHook, RoleChangeEviction>();
        services.AddHostedService<KeyUsageFlushService>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.WithAddedModifier(
            o.SerializerOptions.TypeInfoResolver ?? new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(), KeyVerdictJson.Configure));
        return services;
    }

    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder api)
    {
        var keys = api.MapGroup("/orgs/{orgId}/api-keys").WithTags("API keys");
        keys.MapPost("", CreateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("CreateApiKey").WithSummary("Create an API key (the key is returned once)");
        keys.MapGet("", ListApiKeys.Handle).RequirePermission("api_keys:read").WithName("ListApiKeys").WithSummary("List API keys (filters ownerId, enabled, q, includeRevoked)");
        keys.MapGet("/{keyId}", GetApiKey.Handle).RequirePermission("api_keys:read").WithName("GetApiKey").WithSummary("Get an API key");
        keys.MapPatch("/{keyId}", UpdateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("UpdateApiKey").WithSummary("Update an API key");
        keys.MapDelete("/{keyId}", RevokeApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("RevokeApiKey").WithSummary("Revoke an API key");
        keys.MapPost("/{keyId}/rotate", RotateApiKey.Handle).RequirePermission("api_keys:write").GuardsEscalation().WithName("RotateApiKey").WithSummary("Rotate an API key with a grace period (the new key is returned once)");
        keys.MapPost("/{keyId}/validate", ValidateApiKey.Handle).RequirePermission("api_keys:verify").WithName("ValidateApiKey").WithSummary("Check that a secret is this key, without spending anything");
        keys.MapGet("/{keyId}/usage", GetApiKeyUsage.Handle).RequirePermission("api_keys:read").WithName("GetApiKeyUsage").WithSummary("Verifications of a key by outcome per hour or day");

        // POST /keys/verify is mapped by VerifyEndpoint.Map, outside this group (see there).
        return api;
    }
}
