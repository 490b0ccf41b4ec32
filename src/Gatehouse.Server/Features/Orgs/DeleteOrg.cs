using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

public static class DeleteOrg
{
    /// <summary>
    /// Tombstones the organization and, in the same transaction, has every feature erase its data
    /// (keys revoked and removed, data keys destroyed). The audit trail stays, for the record.
    /// </summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Handle(
        string orgId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgDirectory directory, IEnumerable<IOrgDataEraser> erasers,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var org = await db.Set<Organization>().FirstOrDefaultAsync(o => o.Id == orgId && o.DeletedAt == null, cancellationToken);
        if (org is null)
        {
            return ApiError.NotFound("organization");
        }

        var revoked = new List<IReadOnlyCollection<string>>();
        foreach (var eraser in erasers)
        {
            revoked.AddRange(await eraser.RevokedGrantsAsync(db, orgId, cancellationToken));
        }

        if (Escalation.Holds(httpContext, revoked) is { } forbidden)
        {
            return forbidden;
        }

        foreach (var eraser in erasers)
        {
            // Once the delete committed: cached state of the organization goes for good.
            changes.AfterCommit(() => eraser.AfterEraseCommittedAsync(orgId));
        }

        await changes.RunAsync(async ct =>
        {
            await OrganizationDeleteLock.AcquireAsync(db, orgId, ct);
            foreach (var eraser in erasers)
            {
                await eraser.EraseAsync(db, orgId, ct);
            }

            org.DeletedAt = clock.GetUtcNow().UtcDateTime;
            org.UpdatedAt = org.DeletedAt.Value;
            org.Slug = null;
            changes.Record(OrgActions.Delete, org.Id, org.Id);
        }, cancellationToken);
        directory.Forget(orgId);
        return new ApiOk<Deleted>(new Deleted(orgId));
    }
}
