using Gatehouse.Contracts;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

/// <summary>
/// The root's view of organizations under <c>/admin/tenants/{tenantId}</c>, where the tenant is
/// named by id or by slug: the slug is resolved to the id, then the organization routes' own
/// handlers answer, so views, errors and audit events are theirs exactly.
/// </summary>
public static class Tenants
{
    public static async Task<Results<ApiOk<OrgView>, ApiError>> Get(string tenantId, GatehouseDb db, CancellationToken cancellationToken) =>
        await ResolveAsync(db, tenantId, cancellationToken) is { } orgId
            ? await GetOrg.Handle(orgId, db, cancellationToken)
            : ApiError.NotFound("organization");

    public static async Task<Results<ApiOk<OrgView>, ApiError>> Update(
        string tenantId, UpdateOrgRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgDirectory directory, TimeProvider clock, CancellationToken cancellationToken) =>
        await ResolveAsync(db, tenantId, cancellationToken) is { } orgId
            ? await UpdateOrg.Handle(orgId, request, httpContext, db, changes, directory, clock, cancellationToken)
            : ApiError.NotFound("organization");

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string tenantId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgDirectory directory, IEnumerable<IOrgDataEraser> erasers,
        TimeProvider clock, CancellationToken cancellationToken) =>
        await ResolveAsync(db, tenantId, cancellationToken) is { } orgId
            ? await DeleteOrg.Handle(orgId, httpContext, db, changes, directory, erasers, clock, cancellationToken)
            : ApiError.NotFound("organization");

    public static async Task<Results<ApiOk<IDictionary<string, object>>, ApiError>> Stats(
        string tenantId, GatehouseDb db, IEnumerable<IOrgStatsContributor> contributors, CancellationToken cancellationToken) =>
        await ResolveAsync(db, tenantId, cancellationToken) is { } orgId
            ? await GetOrgStats.Handle(orgId, db, contributors, cancellationToken)
            : ApiError.NotFound("organization");

    /// <summary>The id of the live organization with this id or slug, or null.</summary>
    private static async Task<string?> ResolveAsync(GatehouseDb db, string tenantId, CancellationToken cancellationToken)
    {
        var live = db.Set<Organization>().AsNoTracking().Where(o => o.DeletedAt == null);
        return Ids.LooksLike(tenantId, "org")
            ? await live.Where(o => o.Id == tenantId).Select(o => o.Id).FirstOrDefaultAsync(cancellationToken)
            : await live.Where(o => o.Slug == tenantId).Select(o => o.Id).FirstOrDefaultAsync(cancellationToken);
    }
}
