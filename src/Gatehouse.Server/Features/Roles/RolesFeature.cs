using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Roles;

/// <summary>What happens to roles. Other features react to these values (the key cache drops an organization's keys).</summary>
[FeatureApi]
public static class RoleActions
{
    public static readonly AuditAction Create = new("role.create", "role", new WebhookEvent("role.created", "A role was created.", "roles:read"));
    public static readonly AuditAction Update = new("role.update", "role", new WebhookEvent("role.updated", "A role was changed.", "roles:read"));
    public static readonly AuditAction Delete = new("role.delete", "role", new WebhookEvent("role.deleted", "A role was deleted.", "roles:read"));

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete];
}

/// <summary>Named sets of permissions that credentials hold by name.</summary>
public sealed class RolesFeature : Feature
{
    public override string Name => "Roles";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Roles", "Named permission sets that API keys hold.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("roles:read", "List and read roles."),
        new("roles:write", "Create, update and delete roles."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => RoleActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Services.AddScoped<RoleDirectory>();
        services.OrgData<RoleOrgData>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var roles = routes.Api.MapGroup("/orgs/{orgId}/roles").WithTags("Roles");
        roles.MapPost("", RoleOperations.Create).RequirePermission("roles:write").GuardsEscalation().WithName("CreateRole").WithSummary("Create a role");
        roles.MapGet("", RoleOperations.List).RequirePermission("roles:read").WithName("ListRoles").WithSummary("List roles");
        roles.MapGet("/{roleId}", RoleOperations.Get).RequirePermission("roles:read").WithName("GetRole").WithSummary("Get a role");
        roles.MapPatch("/{roleId}", RoleOperations.Update).RequirePermission("roles:write").GuardsEscalation().WithName("UpdateRole").WithSummary("Update a role");
        roles.MapDelete("/{roleId}", RoleOperations.Delete).RequirePermission("roles:write").GuardsEscalation().WithName("DeleteRole").WithSummary("Delete a role");
    }
}
