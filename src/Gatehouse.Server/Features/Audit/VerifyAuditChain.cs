using Gatehouse.Contracts.Audit;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// Recomputes a chain from its first event — each event must carry the next sequence number, the
/// previous event's hash, and its own recomputed hash (keyed from the head's <c>keyedFromSeq</c>,
/// plain SHA-256 before) — and checks that the walk ends exactly at the sealed head. Reads in
/// pages, so any length fits in memory.
/// </summary>
public static class VerifyAuditChain
{
    private const int PageSize = 1000;

    public static async Task<ApiOk<AuditVerification>> ForOrg(string orgId, GatehouseDb db, AuditChain chain, CancellationToken cancellationToken) =>
        new(await VerifyAsync(db, chain, orgId, cancellationToken));

    /// <summary>Root: any chain, including <c>platform</c> (events with no organization, such as auth.failure) and deleted organizations.</summary>
    public static async Task<Results<ApiOk<AuditVerification>, ApiError>> ForAdmin([FromQuery] string? orgId, GatehouseDb db, AuditChain chain, CancellationToken cancellationToken) =>
        new ApiOk<AuditVerification>(await VerifyAsync(db, chain, orgId is { Length: > 0 } ? orgId : AuditEvent.PlatformChain, cancellationToken));

    public static async Task<AuditVerification> VerifyAsync(GatehouseDb db, AuditChain chain, string orgId, CancellationToken cancellationToken)
    {
        var head = await db.Owned<AuditChainHead>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        var trusted = head is not null && chain.IsSealed(head);

        // Without a trusted head the boundary between plain and keyed hashes is unknown: either is
        // accepted while walking (to still name an edited event), and the result is invalid anyway.
        var keyedFrom = trusted ? head!.KeyedFromSeq : long.MaxValue;
        var eitherUpTo = trusted ? head!.LostAtSeq ?? 0 : long.MaxValue;
        long expectedSeq = 1;
        var prevHash = "";
        long checkedCount = 0;
        var seenKeyed = false;
        while (true)
        {
            var afterSeq = expectedSeq - 1;
            var batch = await db.Owned<AuditEvent>(orgId).AsNoTracking().Where(e => e.Seq > afterSeq)
                .OrderBy(e => e.Seq).Take(PageSize).ToListAsync(cancellationToken);
            foreach (var e in batch)
            {
                checkedCount++;
                if (e.Seq != expectedSeq || e.PrevHash != prevHash)
                {
                    return Broken(checkedCount, e.Id, AuditVerification.BrokenLink, head);
                }

                bool matches;
                if (e.Seq <= eitherUpTo)
                {
                    // Keyed hashing, once begun, never goes back to plain: a plain event after a keyed one is a forgery.
                    var keyed = chain.HashMatches(e, keyed: true);
                    matches = keyed || (!seenKeyed && chain.HashMatches(e, keyed: false));
                    seenKeyed |= keyed;
                }
                else
                {
                    matches = chain.HashMatches(e, keyed: e.Seq >= keyedFrom);
                }

                if (!matches)
                {
                    return Broken(checkedCount, e.Id, AuditVerification.HashMismatch, head);
                }

                prevHash = e.Hash;
                expectedSeq++;
            }

            if (batch.Count < PageSize)
            {
                break;
            }
        }

        var lastSeq = expectedSeq - 1;
        if (head is null)
        {
            return checkedCount == 0
                ? new AuditVerification(true, 0, null)
                : Broken(checkedCount, null, AuditVerification.HeadMissing, head);
        }

        if (!trusted || lastSeq > head.LastSeq || (lastSeq == head.LastSeq && prevHash != head.LastHash))
        {
            return Broken(checkedCount, null, AuditVerification.HeadMismatch, head);
        }

        if (lastSeq < head.LastSeq)
        {
            return Broken(checkedCount, null, AuditVerification.Truncated, head);
        }

        return head.LostAtSeq is not null
            ? Broken(checkedCount, null, AuditVerification.HeadMissing, head)
            : new AuditVerification(true, checkedCount, null) { HeadSeq = head.LastSeq };
    }

    private static AuditVerification Broken(long checkedCount, string? firstBrokenId, string reason, AuditChainHead? head) =>
        new(false, checkedCount, firstBrokenId) { Reason = reason, HeadSeq = head?.LastSeq };
}
