using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Orgs;

/// <summary>What happens to an organization itself.</summary>
public static class OrgActions
{
    public static readonly AuditAction Create = new("org.create", "org");
    public static readonly AuditAction Update = new("org.update", "org", new WebhookEvent("org.updated", "The organization's name, slug or settings changed.", "orgs:read"));
    public static readonly AuditAction Delete = new("org.delete", "org");
}

/// <summary>Organizations: the tenants. Their data belongs to the features, which erase and count it.</summary>
public sealed class OrgsFeature : Feature
{
    public override string Name => "Orgs";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Organizations", "Tenants: create, read, update, delete, and their stats."),
        ("Tenants", "The platform administrator's view of organizations, by id or slug."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("orgs:read", "Read the organization, its settings and stats."),
        new("orgs:write", "Update or delete the organization."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => [OrgActions.Create, OrgActions.Update, OrgActions.Delete];

    public override void MapRoutes(FeatureRoutes routes)
    {
        var orgs = routes.Api.MapGroup("/orgs").WithTags("Organizations");
        orgs.MapPost("", CreateOrg.Handle).RequireRoot().WithName("CreateOrg").WithSummary("Create an organization");
        orgs.MapGet("", ListOrgs.Handle).RequireCredential().WithName("ListOrgs").WithSummary("List organizations (root: all; others: their own)");
        orgs.MapGet("/{orgId}", GetOrg.Handle).RequirePermission("orgs:read").WithName("GetOrg").WithSummary("Get an organization");
        orgs.MapPatch("/{orgId}", UpdateOrg.Handle).RequirePermission("orgs:write").GuardsEscalation().WithName("UpdateOrg").WithSummary("Update an organization");
        orgs.MapDelete("/{orgId}", DeleteOrg.Handle).RequirePermission("orgs:write").GuardsEscalation().WithName("DeleteOrg").WithSummary("Delete an organization and erase its data");
        orgs.MapGet("/{orgId}/stats", GetOrgStats.Handle).RequirePermission("orgs:read").WithName("GetOrgStats").WithSummary("Counts and verification outcomes of the last 24 h");

        // Seed 004 (Locktera, base URL /v1): "Organization Management" at /v1/orgs, the same operations in
        // its bare snake_case JSON with 200 for every success (docs/compatibility.md).
        var locktera = routes.Root.MapGroup("/v1/orgs").WithTags(CompatibilityRoutes.Tag)
            .WithResponseProfile(ResponseProfile.BareSnakeCase with { SuccessStatus = StatusCodes.Status200OK });
        locktera.RejectUnknownQueryParameters();
        locktera.MapGet("", ListOrgs.Handle).RequireCredential().WithName("LockteraListOrgs")
            .AliasOf("GET /api/v1/orgs", "a bare array of organizations (root: all; others: their own)");
        locktera.MapGet("/{orgId}", GetOrg.Handle).RequirePermission("orgs:read").WithName("LockteraGetOrg")
            .AliasOf("GET /api/v1/orgs/{orgId}", "the organization");
        locktera.MapPatch("/{orgId}", UpdateOrg.Handle).RequirePermission("orgs:write").GuardsEscalation().WithName("LockteraUpdateOrg")
            .AliasOf("PATCH /api/v1/orgs/{orgId}", "the updated organization");

        var tenants = routes.Api.MapGroup("/admin/tenants").WithTags("Tenants");
        tenants.MapGet("/{tenantId}", Tenants.Get).RequireRoot().WithName("GetTenant").WithSummary("Get an organization by id or slug");
        tenants.MapPatch("/{tenantId}", Tenants.Update).RequireRoot().GuardsEscalation().WithName("UpdateTenant").WithSummary("Update an organization by id or slug");
        tenants.MapDelete("/{tenantId}", Tenants.Delete).RequireRoot().GuardsEscalation().WithName("DeleteTenant").WithSummary("Delete an organization by id or slug and erase its data");
        tenants.MapGet("/{tenantId}/stats", Tenants.Stats).RequireRoot().WithName("GetTenantStats").WithSummary("Counts and verification outcomes of the last 24 h, by id or slug");
    }
}
