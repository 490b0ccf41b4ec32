using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// Recomputes a chain from its first event: each event must carry the next sequence number, the
/// previous event's hash, and its own recomputed hash. Reads in pages, so any length fits in memory.
/// </summary>
public static class VerifyAuditChain
{
    private const int PageSize = 1000;

    public static async Task<ApiOk<AuditVerification>> ForOrg(string orgId, GatehouseDb db, CancellationToken cancellationToken) =>
        new(await VerifyAsync(db, orgId, cancellationToken));

    /// <summary>Root: any chain, including <c>platform</c> (events with no organization, such as auth.failure).</summary>
    public static async Task<Results<ApiOk<AuditVerification>, ApiError>> ForAdmin([FromQuery] string? orgId, GatehouseDb db, CancellationToken cancellationToken) =>
        new ApiOk<AuditVerification>(await VerifyAsync(db, orgId is { Length: > 0 } ? orgId : AuditEvent.PlatformChain, cancellationToken));

    public static async Task<AuditVerification> VerifyAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        long expectedSeq = 1;
        var prevHash = "";
        long checkedCount = 0;
        while (true)
        {
            var afterSeq = expectedSeq - 1;
            var batch = await db.Set<AuditEvent>().AsNoTracking().Where(e => e.OrgId == orgId && e.Seq > afterSeq)
                .OrderBy(e => e.Seq).Take(PageSize).ToListAsync(cancellationToken);
            foreach (var e in batch)
            {
                checkedCount++;
                if (e.Seq != expectedSeq || e.PrevHash != prevHash || AuditLog.ComputeHash(e) != e.Hash)
                {
                    return new AuditVerification(false, checkedCount, e.Id);
                }

                prevHash = e.Hash;
                expectedSeq++;
            }

            if (batch.Count < PageSize)
            {
                return new AuditVerification(true, checkedCount, null);
            }
        }
    }
}
