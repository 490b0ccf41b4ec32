using System.Collections.Concurrent;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Users;

/// <summary>A validated session as the cache keeps it: the principal it resolves to and its clocks.</summary>
internal sealed class CachedSession(UserSession session, CredentialOutcome outcome)
{
    private long _lastSeenTicks = session.LastSeenAt.Ticks;
    private long _persistedTicks = session.LastSeenAt.Ticks;

    public string SessionId { get; } = session.Id;
    public string UserId { get; } = session.UserId;
    public string? OrgId { get; } = session.OrgId;
    public DateTime ExpiresAt { get; } = session.ExpiresAt;
    public TimeSpan IdleTimeout { get; } = TimeSpan.FromSeconds(session.IdleTimeoutSeconds);
    public CredentialOutcome Outcome { get; } = outcome;

    public DateTime LastSeenAt => new(Interlocked.Read(ref _lastSeenTicks), DateTimeKind.Utc);

    public bool IsLive(DateTime now) => now < ExpiresAt && now < LastSeenAt + IdleTimeout;

    /// <summary>Marks activity at <paramref name="now"/>; true when the stored <c>lastSeenAt</c> is a minute or more behind (write it).</summary>
    public bool Touch(DateTime now)
    {
        Interlocked.Exchange(ref _lastSeenTicks, now.Ticks);
        var persisted = Interlocked.Read(ref _persistedTicks);
        return now.Ticks - persisted >= TimeSpan.TicksPerMinute
            && Interlocked.CompareExchange(ref _persistedTicks, now.Ticks, persisted) == persisted;
    }
}

/// <summary>
/// Sessions by the keyed hash of their token, with the user's effective permissions, so a request
/// with a session costs no database round trip once its session is cached. Every change that could
/// alter what a session may do evicts it after the commit: logout, password change, the user
/// disabled, deleted or changed, and any role change of the organization. A load that raced an
/// eviction is not kept (<see cref="Generation"/>).
/// </summary>
public sealed class SessionCache : IMetricsSource, IChangeSetParticipant, IAfterCommitReaction
{
    private const int MaxEntries = 200_000;
    private readonly ConcurrentDictionary<SecretDigest, CachedSession> _sessions = new();
    private long _generation;
    private long _hits;
    private long _misses;

    /// <summary>Advances on every eviction: a load that started before one must not be cached.</summary>
    internal long Generation => Interlocked.Read(ref _generation);

    internal bool TryGet(SecretDigest hash, out CachedSession session) => _sessions.TryGetValue(hash, out session!);

    internal void Add(SecretDigest hash, CachedSession session, long generationAtLoad)
    {
        if (_sessions.Count >= MaxEntries)
        {
            _sessions.Clear();
        }

        _sessions[hash] = session;
        // An eviction ran while the session was read: the read may predate it, so drop it again.
        if (Generation != generationAtLoad)
        {
            _sessions.TryRemove(hash, out _);
        }
    }

    internal void CountHit() => Interlocked.Increment(ref _hits);

    internal void CountMiss() => Interlocked.Increment(ref _misses);

    public void Evict(SecretDigest hash)
    {
        Interlocked.Increment(ref _generation);
        _sessions.TryRemove(hash, out _);
    }

    public void EvictSession(string sessionId) => EvictWhere(s => s.SessionId == sessionId);

    public void EvictUser(string userId) => EvictWhere(s => s.UserId == userId);

    public void EvictOrg(string orgId) => EvictWhere(s => s.OrgId == orgId);

    /// <summary>Forgets every session (this node may have missed other nodes' changes).</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _sessions.Clear();
    }

    private void EvictWhere(Func<CachedSession, bool> matches)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, session) in _sessions)
        {
            if (matches(session))
            {
                _sessions.TryRemove(hash, out _);
            }
        }
    }

    // Role changes reach sessions of the role's organization: before the commit and again after it
    // (a session loaded between the two read the old role).
    Task IChangeSetParticipant.BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        EvictRoleChanges(actions);
        return Task.CompletedTask;
    }

    Task IAfterCommitReaction.AfterCommitAsync(IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        EvictRoleChanges(actions);
        return Task.CompletedTask;
    }

    private void EvictRoleChanges(IReadOnlyList<RecordedAction> actions)
    {
        foreach (var action in actions)
        {
            if (action.OrgId is { } orgId && RoleActions.All.Contains(action.Action))
            {
                EvictOrg(orgId);
            }
        }
    }

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.session_cache.lookups", MetricKind.Counter, "Session validations by cache result.", () =>
        [
            new MetricSeries(Interlocked.Read(ref _hits), "result", "hit"),
            new MetricSeries(Interlocked.Read(ref _misses), "result", "miss"),
        ]),
        new("gatehouse.session_cache.entries", MetricKind.Gauge, "Sessions held in the validation cache.", () => [new MetricSeries(_sessions.Count)]),
    ];
}
