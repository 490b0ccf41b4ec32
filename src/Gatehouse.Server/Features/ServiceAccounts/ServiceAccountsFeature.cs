using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.ServiceAccounts;

/// <summary>What happens to service accounts.</summary>
public static class ServiceAccountActions
{
    public static readonly AuditAction Create = new("service_account.create", "service_account",
        new WebhookEvent("service_account.created", "A service account was created (with its first API key).", "service_accounts:read"));

    public static readonly AuditAction Update = new("service_account.update", "service_account",
        new WebhookEvent("service_account.updated", "A service account was changed, disabled (its keys stop) or enabled (they resume).", "service_accounts:read"));

    public static readonly AuditAction Delete = new("service_account.delete", "service_account",
        new WebhookEvent("service_account.deleted", "A service account was deleted and every credential it owned revoked.", "service_accounts:read"));

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete];
}

/// <summary>
/// Service accounts: non-human actors of an organization that own API keys. Their keys follow them:
/// disabled, the keys stop; enabled, they resume; deleted, they are revoked in the same transaction.
/// </summary>
public sealed class ServiceAccountsFeature : Feature
{
    public override string Name => "ServiceAccounts";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
        [("Service accounts", "Non-human actors that own API keys; disabling or deleting one stops or revokes its keys.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("service_accounts:read", "List and read service accounts."),
        new("service_accounts:write", "Create, update, disable and delete service accounts."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => ServiceAccountActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.OrgData<ServiceAccountOrgData>();
        services.Services.AddScoped<ServiceAccountDirectory>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        routes.Api.MapPost("/admin/service-accounts", ServiceAccountOperations.CreateForAdmin).RequireRoot().GuardsEscalation().WithTags("Service accounts")
            .WithName("AdminCreateServiceAccount").WithSummary("Create a service account of any organization with its first API key (the key is returned once)");
        // Seed 001's spelling of the same call.
        routes.Api.MapPost("/admin/service-account/create", ServiceAccountOperations.CreateForAdmin).RequireRoot().GuardsEscalation().WithTags("compat")
            .WithName("AdminCreateServiceAccountAlias").WithSummary("Alias of POST /api/v1/admin/service-accounts");

        var accounts = routes.Api.MapGroup("/orgs/{orgId}/service-accounts").WithTags("Service accounts");
        accounts.MapPost("", ServiceAccountOperations.Create).RequirePermission("service_accounts:write").GuardsEscalation()
            .WithName("CreateServiceAccount").WithSummary("Create a service account with its first API key (the key is returned once)");
        accounts.MapGet("", ServiceAccountOperations.List).RequirePermission("service_accounts:read").WithName("ListServiceAccounts").WithSummary("List service accounts");
        accounts.MapGet("/{serviceAccountId}", ServiceAccountOperations.Get).RequirePermission("service_accounts:read").WithName("GetServiceAccount").WithSummary("Get a service account");
        accounts.MapPatch("/{serviceAccountId}", ServiceAccountOperations.Update).RequirePermission("service_accounts:write").GuardsEscalation()
            .WithName("UpdateServiceAccount").WithSummary("Update, disable (its keys stop) or enable (they resume) a service account");
        accounts.MapDelete("/{serviceAccountId}", ServiceAccountOperations.Delete).RequirePermission("service_accounts:write").GuardsEscalation()
            .WithName("DeleteServiceAccount").WithSummary("Delete a service account and revoke every credential it owns");
        accounts.MapPost("/{serviceAccountId}/keys", ServiceAccountOperations.CreateKey).RequirePermission("api_keys:write").GuardsEscalation().WithTags("API keys")
            .WithName("CreateServiceAccountKey").WithSummary("Create an API key owned by the service account, within its permissions (the key is returned once)");
    }
}
