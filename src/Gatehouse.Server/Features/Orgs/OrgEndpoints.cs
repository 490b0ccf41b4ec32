using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Features.Orgs;

public static class OrgEndpoints
{
    public static IEndpointRouteBuilder MapOrgs(this IEndpointRouteBuilder api)
    {
        var orgs = api.MapGroup("/orgs").WithTags("Organizations");
        orgs.MapPost("", CreateOrg.Handle).RequireRoot().WithName("CreateOrg").WithSummary("Create an organization");
        orgs.MapGet("", ListOrgs.Handle).RequireCredential().WithName("ListOrgs").WithSummary("List organizations (root: all; others: their own)");
        orgs.MapGet("/{orgId}", GetOrg.Handle).RequirePermission("orgs:read").WithName("GetOrg").WithSummary("Get an organization");
        orgs.MapPatch("/{orgId}", UpdateOrg.Handle).RequirePermission("orgs:write").GuardsEscalation().WithName("UpdateOrg").WithSummary("Update an organization");
        orgs.MapDelete("/{orgId}", DeleteOrg.Handle).RequirePermission("orgs:write").GuardsEscalation().WithName("DeleteOrg").WithSummary("Delete an organization and erase its data");
        orgs.MapGet("/{orgId}/stats", GetOrgStats.Handle).RequirePermission("orgs:read").WithName("GetOrgStats").WithSummary("Counts and verification outcomes of the last 24 h");
        return api;
    }
}
