using System.Text.Json;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// The one way a feature commits a state change: record what happened, then
/// <see cref="SaveChangesAsync"/> writes the change and its audit events in one transaction.
/// If the audit write fails, nothing is committed.
/// </summary>
public sealed class AuditLog(GatehouseDb db, TimeProvider clock, AuditChain chainKey, IEnumerable<IAuditCommitHook> hooks)
{
    private static readonly JsonSerializerOptions ChangesJson = JsonDefaults.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));
    private readonly List<AuditEvent> _pending = [];
    private readonly List<AuditEvent> _savedInOuterTransaction = [];

    /// <summary>Events recorded in this scope and not yet saved.</summary>
    public IReadOnlyList<AuditEvent> Pending => _pending;

    /// <summary>
    /// Records an event of the current request's principal. <paramref name="changes"/> must never
    /// hold a secret value: pass field names and non-secret values only.
    /// </summary>
    public AuditEvent Record(string? orgId, string action, string? targetType, string? targetId, object? changes = null, (string Type, string Id)? actor = null)
    {
        var httpContext = CurrentRequest.HttpContext;
        var who = actor ?? httpContext?.GetPrincipal()?.Actor ?? ("anonymous", "anonymous");
        var occurredAt = clock.GetUtcNow().UtcDateTime;
        var auditEvent = new AuditEvent
        {
            Id = Ids.New("aud", clock.GetUtcNow()),
            OrgId = orgId ?? AuditEvent.PlatformChain,
            Action = action,
            ActorType = who.Type,
            ActorId = who.Id,
            TargetType = targetType,
            TargetId = targetId,
            Ip = httpContext?.Connection.RemoteIpAddress?.ToString(),
            UserAgent = Truncate(httpContext?.Request.Headers.UserAgent.ToString(), 512),
            RequestId = httpContext is null ? null : RequestIds.Get(httpContext),
            // Millisecond precision: both databases keep it exactly, so the hash can be recomputed.
            OccurredAt = new DateTime(occurredAt.Ticks - occurredAt.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc),
            Changes = changes is null ? null : JsonSerializer.Serialize(changes, ChangesJson),
        };
        _pending.Add(auditEvent);
        return auditEvent;
    }

    /// <summary>Saves the tracked changes and the recorded events atomically, chaining the events.</summary>
    public async Task SaveChangesAsync(CancellationToken cancellationToken)
    {
        var ownTransaction = db.Database.CurrentTransaction is null;
        await using var transaction = ownTransaction ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        try
        {
            foreach (var hook in hooks)
            {
                await hook.BeforeCommitAsync(db, _pending, cancellationToken);
            }

            foreach (var chain in _pending.GroupBy(e => e.OrgId))
            {
                await AppendToChainAsync(chain.Key, chain, cancellationToken);
            }

            await db.SaveChangesAsync(cancellationToken);

            // A tracked head would shadow the row on the next append of this scope (identity
            // resolution keeps the in-memory values): every append reads the head afresh.
            DetachHeads();
            if (transaction is not null)
            {
                await transaction.CommitAsync(cancellationToken);
            }

            _savedInOuterTransaction.AddRange(_pending);
            var committed = _pending.ToList();
            _pending.Clear();
            if (transaction is not null)
            {
                _savedInOuterTransaction.Clear();
                await RunAfterCommitHooksAsync(committed);
            }
        }
        catch
        {
            foreach (var auditEvent in _pending)
            {
                db.Entry(auditEvent).State = EntityState.Detached;
            }

            // The heads moved for these events did not commit either: the next save reads them again.
            DetachHeads();

            _pending.Clear();
            throw;
        }
    }

    /// <summary>
    /// For a caller that wrapped <see cref="SaveChangesAsync"/> in its own transaction: call after
    /// that transaction commits, so after-commit hooks (cache evictions) see the committed state.
    /// </summary>
    public async Task AfterOuterCommitAsync()
    {
        var committed = _savedInOuterTransaction.ToList();
        _savedInOuterTransaction.Clear();
        await RunAfterCommitHooksAsync(committed);
    }

    private void DetachHeads()
    {
        foreach (var head in db.ChangeTracker.Entries<AuditChainHead>().ToList())
        {
            head.State = EntityState.Detached;
        }
    }

    private async Task RunAfterCommitHooksAsync(IReadOnlyList<AuditEvent> committed)
    {
        foreach (var hook in hooks)
        {
            // The change is committed and acknowledged whatever a hook does; hooks only drop caches.
            await hook.AfterCommitAsync(committed, CancellationToken.None);
        }
    }

    /// <summary>
    /// Appends after the chain's head and moves the head, both in the caller's transaction: a
    /// failed commit leaves events and head as they were. A head that is missing or whose seal is
    /// wrong is never trusted or silently replaced: the chain goes on from its newest event and the
    /// new head records where the loss was found (<see cref="AuditChainHead.LostAtSeq"/>).
    /// </summary>
    private async Task AppendToChainAsync(string orgId, IEnumerable<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (db.IsPostgres)
        {
            // Serializes writers of one organization's chain; SQLite's write lock already does.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"audit:" + orgId}))", cancellationToken);
        }

        var head = await db.Set<AuditChainHead>().FirstOrDefaultAsync(h => h.OrgId == orgId, cancellationToken);
        if (head is null || !chainKey.IsSealed(head))
        {
            var newest = await db.Set<AuditEvent>().Where(e => e.OrgId == orgId).OrderByDescending(e => e.Seq)
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

    private static string? Truncate(string? value, int max) =>
        string.IsNullOrEmpty(value) ? null : value.Length <= max ? value : value[..max];
}

/// <summary>
/// Runs inside the audit transaction before it commits: the webhook outbox stores the events
/// that the recorded audit events cause, so a crash can lose neither.
/// </summary>
public interface IAuditCommitHook
{
    Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Runs once the transaction has committed (caches drop what it changed: a reader that loaded
    /// the old row between a before-commit eviction and the commit cannot keep it).
    /// </summary>
    Task AfterCommitAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) => Task.CompletedTask;
}
