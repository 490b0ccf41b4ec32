using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// The audit trail's part of every change set: inside its transaction, each recorded action becomes
/// an <see cref="AuditEvent"/> appended to its organization's hash chain, so the change and its
/// audit events commit together or not at all.
/// </summary>
public sealed class AuditChainWriter(TimeProvider clock, AuditChain chainKey) : IChangeSetParticipant
{
    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        foreach (var chain in actions.Select(ToEvent).GroupBy(e => e.OrgId))
        {
            await AppendToChainAsync(db, chain.Key, chain, cancellationToken);
        }
    }

    public void Completed(GatehouseDb db, bool committed)
    {
        // A tracked head would shadow the row on the next append of this scope (identity resolution
        // keeps the in-memory values): every append reads the head afresh. Events of a failed
        // commit are dropped, so a later save of the scope cannot write them.
        foreach (var entry in db.ChangeTracker.Entries().Where(e => e.Entity is AuditChainHead || (!committed && e.Entity is AuditEvent)).ToList())
        {
            entry.State = EntityState.Detached;
        }
    }

    private static AuditEvent ToEvent(RecordedAction action) => new()
    {
        Id = action.Id,
        OrgId = action.OrgId ?? AuditEvent.PlatformChain,
        Action = action.Action.Name,
        ActorType = action.ActorType,
        ActorId = action.ActorId,
        TargetType = action.Action.TargetType,
        TargetId = action.TargetId,
        Ip = action.Ip,
        UserAgent = action.UserAgent,
        RequestId = action.RequestId,
        OccurredAt = action.OccurredAt,
        Changes = action.Changes,
    };

    /// <summary>
    /// Appends after the chain's head and moves the head, both in the caller's transaction: a
    /// failed commit leaves events and head as they were. A head that is missing or whose seal is
    /// wrong is never trusted or silently replaced: the chain goes on from its newest event and the
    /// new head records where the loss was found (<see cref="AuditChainHead.LostAtSeq"/>).
    /// </summary>
    private async Task AppendToChainAsync(GatehouseDb db, string orgId, IEnumerable<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (db.IsPostgres)
        {
            // Serializes writers of one organization's chain; SQLite's write lock already does.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"audit:" + orgId}))", cancellationToken);
        }

        var head = await db.Owned<AuditChainHead>(orgId).FirstOrDefaultAsync(cancellationToken);
        if (head is null || !chainKey.IsSealed(head))
        {
            var newest = await db.Owned<AuditEvent>(orgId).OrderByDescending(e => e.Seq)
                .Select(e => new { e.Seq, e.Hash }).FirstOrDefaultAsync(cancellationToken);
            var lostAt = newest is null && head is null ? (long?)null : newest?.Seq ?? 0;
            if (head is null)
            {
                head = new AuditChainHead { OrgId = orgId, LastHash = "" };
                db.Add(head);
            }

            head.LastSeq = newest?.Seq ?? 0;
            head.LastHash = newest?.Hash ?? "";
            head.KeyedFromSeq = head.LastSeq + 1;
            head.LostAtSeq = lostAt;
        }

        var seq = head.LastSeq;
        var prevHash = head.LastHash;
        foreach (var auditEvent in events)
        {
            auditEvent.Seq = ++seq;
            auditEvent.PrevHash = prevHash;
            auditEvent.Hash = chainKey.Hash(auditEvent);
            prevHash = auditEvent.Hash;
            db.Add(auditEvent);
        }

        head.LastSeq = seq;
        head.LastHash = prevHash;
        head.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        head.Seal = chainKey.SealOf(head);
    }
}
