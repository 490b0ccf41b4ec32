using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.Vault;

public static class VaultEndpoints
{
    public static IServiceCollection AddVault(this IServiceCollection services)
    {
        services.AddSingleton<VaultKeyring>();
        services.AddSingleton<VaultOrgData>();
        services.AddSingleton<IOrgDataEraser>(sp => sp.GetRequiredService<VaultOrgData>());
        services.AddSingleton<IOrgStatsContributor>(sp => sp.GetRequiredService<VaultOrgData>());
        services.AddSingleton<DataKeyReencryption>();
        services.AddHostedService(sp => sp.GetRequiredService<DataKeyReencryption>());
        return services;
    }

    public static IEndpointRouteBuilder MapVault(this IEndpointRouteBuilder api)
    {
        var credentials = api.MapGroup("/orgs/{orgId}/credentials").WithTags("Vault");
        credentials.MapPost("", CredentialOperations.Create).RequirePermission("credentials:write").WithName("CreateCredential").WithSummary("Store a credential (its data is encrypted)");
        credentials.MapGet("", CredentialOperations.List).RequirePermission("credentials:read").WithName("ListCredentials").WithSummary("List credentials: metadata only");
        credentials.MapGet("/{integrationId}", CredentialOperations.Reveal).RequirePermission("credentials:reveal").WithName("RevealCredentials").WithSummary("Decrypted data of the integration's credentials (audited)");
        credentials.MapGet("/{integrationId}/details", CredentialOperations.Details).RequirePermission("credentials:read").WithName("GetCredentialDetails").WithSummary("Metadata and versions of the integration's credentials");
        credentials.MapPatch("/{integrationId}/{credentialId}", CredentialOperations.Update).RequirePermission("credentials:write").WithName("UpdateCredential").WithSummary("Update a credential; new data adds a version");
        credentials.MapDelete("/{integrationId}/{credentialId}", CredentialOperations.Delete).RequirePermission("credentials:write").WithName("DeleteCredential").WithSummary("Delete a credential and all its versions");
        api.MapPost("/admin/dek/rotate", KeyRotation.Rotate).RequireRoot().WithTags("Vault").WithName("RotateDataKeys").WithSummary("Add a data-key version for one or all organizations");
        api.MapGet("/admin/keyring", KeyRotation.List).RequireRoot().WithTags("Vault").WithName("GetKeyring").WithSummary("Data-key versions and how many records each protects");
        return api;
    }
}
