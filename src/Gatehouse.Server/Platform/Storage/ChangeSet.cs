using System.Text.Json;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Platform.Storage;

/// <summary>An action recorded on a change set: what became (or becomes) one audit event.</summary>
public sealed record RecordedAction(
    string Id,
    string? OrgId,
    AuditAction Action,
    string ActorType,
    string ActorId,
    string? TargetId,
    string? Ip,
    string? UserAgent,
    string? RequestId,
    DateTime OccurredAt,
    string? Changes);

/// <summary>
/// Runs inside the change set's transaction, after the feature's work and before COMMIT: the audit
/// chain appends the recorded actions, the webhook outbox queues their deliveries. A participant
/// that throws rolls everything back.
/// </summary>
public interface IChangeSetParticipant
{
    Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken);

    /// <summary>
    /// After COMMIT or a rollback: drop what the participant left tracked on the context, so a later
    /// change set of the same scope reads rows afresh instead of their remembered values.
    /// </summary>
    void Completed(GatehouseDb db, bool committed)
    {
    }
}

/// <summary>
/// Runs once the transaction has committed (cache evictions, job wake-ups, later notifications to
/// other nodes). The change is acknowledged whatever a reaction does; reactions only drop or wake.
/// </summary>
public interface IAfterCommitReaction
{
    Task AfterCommitAsync(IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken);
}

/// <summary>
/// The one way a feature commits a state change. It owns the transaction: features track entity
/// changes on <see cref="GatehouseDb"/> and <see cref="Record"/> what happened; <see cref="CommitAsync"/>
/// (or <see cref="RunAsync{T}"/> for work that must itself run inside the transaction, e.g. behind a
/// lock) begins it, runs the participants, saves, commits and then runs the after-commit reactions —
/// one call, so no caller can do half of it. If anything fails before COMMIT, nothing is kept.
/// </summary>
public sealed class ChangeSet(
    GatehouseDb db,
    TimeProvider clock,
    FeatureCatalog catalog,
    IEnumerable<IChangeSetParticipant> participants,
    IEnumerable<IAfterCommitReaction> reactions)
{
    private static readonly JsonSerializerOptions ChangesJson = JsonDefaults.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));
    private readonly List<RecordedAction> _pending = [];
    private readonly List<Func<Task>> _afterCommit = [];
    private bool _running;

    /// <summary>Actions recorded and not yet committed.</summary>
    public IReadOnlyList<RecordedAction> Pending => _pending;

    /// <summary>
    /// Records an action of the current request's principal (or of <paramref name="actor"/>, for
    /// background work). <paramref name="changes"/> must never hold a secret value: pass field
    /// names and non-secret values only. A null <paramref name="orgId"/> records on the platform's chain.
    /// </summary>
    public RecordedAction Record(AuditAction action, string? orgId, string? targetId, object? changes = null, (string Type, string Id)? actor = null)
    {
        if (!catalog.Declares(action))
        {
            throw new InvalidOperationException($"The audit action {action.Name} is not declared by any feature.");
        }

        var httpContext = CurrentRequest.HttpContext;
        var who = actor ?? httpContext?.GetPrincipal()?.Actor ?? ("anonymous", "anonymous");
        var now = clock.GetUtcNow();
        var occurredAt = now.UtcDateTime;
        var recorded = new RecordedAction(
            Ids.New("aud", now),
            orgId,
            action,
            who.Type,
            who.Id,
            targetId,
            httpContext?.Connection.RemoteIpAddress?.ToString(),
            Truncate(httpContext?.Request.Headers.UserAgent.ToString(), 512),
            httpContext is null ? null : RequestIds.Get(httpContext),
            // Millisecond precision: both databases keep it exactly, so a hash over it can be recomputed.
            new DateTime(occurredAt.Ticks - occurredAt.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc),
            changes is null ? null : JsonSerializer.Serialize(changes, ChangesJson));
        _pending.Add(recorded);
        return recorded;
    }

    /// <summary>Runs <paramref name="reaction"/> once this change set's transaction has committed (never if it fails).</summary>
    public void AfterCommit(Func<Task> reaction) => _afterCommit.Add(reaction);

    /// <summary>Commits the tracked changes and the recorded actions in one transaction.</summary>
    public Task CommitAsync(CancellationToken cancellationToken) =>
        RunAsync(static _ => Task.FromResult(true), cancellationToken);

    /// <inheritdoc cref="RunAsync{T}"/>
    public Task RunAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken) =>
        RunAsync(async ct =>
        {
            await work(ct);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Begins the transaction, runs <paramref name="work"/> inside it (it may lock, read, write and
    /// <see cref="Record"/>), then commits everything as <see cref="CommitAsync"/> does. Work that
    /// fails, or throws, rolls back; its result is returned once the commit and the reactions are done.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        if (_running || db.Database.CurrentTransaction is not null)
        {
            throw new InvalidOperationException("A change set owns its transaction: it cannot run inside another one.");
        }

        _running = true;
        List<RecordedAction> committed;
        List<Func<Task>> afterCommit;
        T result;
        var succeeded = false;
        try
        {
            await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
            {
                result = await work(cancellationToken);
                foreach (var participant in participants)
                {
                    await participant.BeforeCommitAsync(db, _pending, cancellationToken);
                }

                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }

            succeeded = true;
            committed = [.. _pending];
            afterCommit = [.. _afterCommit];
        }
        finally
        {
            foreach (var participant in participants)
            {
                participant.Completed(db, succeeded);
            }

            _pending.Clear();
            _afterCommit.Clear();
            _running = false;
        }

        foreach (var reaction in reactions)
        {
            await reaction.AfterCommitAsync(committed, CancellationToken.None);
        }

        foreach (var reaction in afterCommit)
        {
            await reaction();
        }

        return result;
    }

    private static string? Truncate(string? value, int max) =>
        string.IsNullOrEmpty(value) ? null : value.Length <= max ? value : value[..max];
}
