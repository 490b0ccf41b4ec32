using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

public static class ListOrgs
{
    /// <summary>Root sees every organization; any other credential sees only its own.</summary>
    public static async Task<Results<ApiPage<OrgView>, ApiError>> Handle(
        [AsParameters] PageParameters paging, [FromQuery] string? q, HttpContext httpContext, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var principal = httpContext.RequirePrincipal();
        var query = db.Set<Organization>().Where(o => o.DeletedAt == null);
        if (!principal.IsRoot)
        {
            query = query.Where(o => o.Id == principal.OrgId);
        }

        if (q is { Length: > 0 } text)
        {
            query = query.Where(o => o.Name.Contains(text) || (o.Slug != null && o.Slug.Contains(text)));
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<OrgView>([.. items.Select(OrgView.From)], page.Paginate(total));
    }
}
