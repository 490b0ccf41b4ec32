using Gatehouse.Server.Features.Audit;
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
        string orgId, HttpContext httpContext, GatehouseDb db, AuditLog audit, OrgDirectory directory, IEnumerable<IOrgDataEraser> erasers,
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

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var eraser in erasers)
        {
            await eraser.EraseAsync(db, orgId, cancellationToken);
        }

        org.DeletedAt = clock.GetUtcNow().UtcDateTime;
        org.UpdatedAt = org.DeletedAt.Value;
        org.Slug = null;
        audit.Record(org.Id, "org.delete", "org", org.Id);
        await audit.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        directory.Forget(orgId);
        foreach (var eraser in erasers)
        {
            await eraser.AfterEraseCommittedAsync(orgId);
        }

        await audit.AfterOuterCommitAsync();
        return new ApiOk<Deleted>(new Deleted(orgId));
    }
}
