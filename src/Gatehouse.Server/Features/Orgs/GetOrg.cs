using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

public static class GetOrg
{
    public static async Task<Results<ApiOk<OrgView>, ApiError>> Handle(string orgId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var org = await db.Set<Organization>().FirstOrDefaultAsync(o => o.Id == orgId && o.DeletedAt == null, cancellationToken);
        return org is null ? ApiError.NotFound("organization") : new ApiOk<OrgView>(OrgView.From(org));
    }
}
