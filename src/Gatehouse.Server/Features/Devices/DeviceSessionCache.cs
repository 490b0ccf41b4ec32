using System.Collections.Concurrent;
using System.Security.Cryptography;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// A session as validation needs it: its row, whether its device is revoked, and the device's public key
/// (a WebCrypto device); a WebAuthn device's proof is checked against its stored credential and counter
/// instead, with the app's allowed origins.
/// </summary>
internal sealed class CachedDeviceSession(
    DeviceSession session, bool deviceRevoked, string publicKeyJwk, int proofMaxAgeSeconds, string keyType = DeviceKeys.KeyType, IReadOnlyList<string>? allowedOrigins = null)
{
    private readonly ECDsa? _key = keyType == DeviceKeys.KeyType ? DeviceKeys.Load(publicKeyJwk) : null;

    public DeviceSession Session { get; } = session;
    public bool DeviceRevoked { get; } = deviceRevoked;
    public int ProofMaxAgeSeconds { get; } = proofMaxAgeSeconds;
    public string KeyType { get; } = keyType;
    public IReadOnlyList<string> AllowedOrigins { get; } = allowedOrigins ?? [];

    /// <summary>One verification at a time per key object: the platform does not promise concurrent use of one.</summary>
    public bool Verify(string message, string? signature)
    {
        if (_key is null)
        {
            return false;
        }

        lock (_key)
        {
            return DeviceKeys.Verify(_key, message, signature);
        }
    }
}

/// <summary>
/// Device sessions by id, so validating a known session reads no session, device or app row. Ending a
/// session, revoking a device and changing or deleting an app evict after the commit, here and — through
/// <see cref="DeviceClusterChanges"/> — on every other node. A load that raced an eviction is not kept.
/// </summary>
public sealed class DeviceSessionCache : IAfterCommitReaction
{
    private const int MaxEntries = 200_000;
    private readonly ConcurrentDictionary<string, CachedDeviceSession> _sessions = new(StringComparer.Ordinal);
    private long _generation;

    internal long Generation => Interlocked.Read(ref _generation);

    internal int Count => _sessions.Count;

    internal bool TryGet(string sessionId, out CachedDeviceSession session) => _sessions.TryGetValue(sessionId, out session!);

    internal void Add(CachedDeviceSession session, long generationAtLoad)
    {
        if (_sessions.Count >= MaxEntries)
        {
            _sessions.Clear();
        }

        _sessions[session.Session.Id] = session;
        if (Generation != generationAtLoad)
        {
            _sessions.TryRemove(session.Session.Id, out _);
        }
    }

    public void EvictSession(string sessionId)
    {
        Interlocked.Increment(ref _generation);
        _sessions.TryRemove(sessionId, out _);
    }

    public void EvictDevice(string deviceId) => EvictWhere(s => s.Session.DeviceId == deviceId);

    public void EvictApp(string appId) => EvictWhere(s => s.Session.AppId == appId);

    public void EvictOrg(string orgId) => EvictWhere(s => s.Session.OrgId == orgId);

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _sessions.Clear();
    }

    /// <summary>Applies one committed change, by its audit action name and target.</summary>
    internal void Apply(string action, string? orgId, string? targetId)
    {
        if (action.StartsWith("org.", StringComparison.Ordinal) && orgId is not null)
        {
            EvictOrg(orgId);
        }
        else if (targetId is null)
        {
            return;
        }
        else if (action == DeviceActions.SessionEnd.Name || action == DeviceActions.SessionRefresh.Name)
        {
            EvictSession(targetId);
        }
        else if (action == DeviceActions.Revoke.Name)
        {
            EvictDevice(targetId);
        }
        else if (action == DeviceActions.AppUpdate.Name || action == DeviceActions.AppDelete.Name)
        {
            EvictApp(targetId);
        }
    }

    Task IAfterCommitReaction.AfterCommitAsync(IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        foreach (var action in actions)
        {
            Apply(action.Action.Name, action.OrgId, action.TargetId);
        }

        return Task.CompletedTask;
    }

    private void EvictWhere(Func<CachedDeviceSession, bool> matches)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (id, session) in _sessions)
        {
            if (matches(session))
            {
                _sessions.TryRemove(id, out _);
            }
        }
    }
}

/// <summary>Other nodes' session ends, device revocations and app changes reach this node's cache.</summary>
internal sealed class DeviceClusterChanges(DeviceSessionCache cache) : IClusterChangeHandler
{
    public void Apply(IReadOnlyList<ClusterChange> changes)
    {
        foreach (var change in changes)
        {
            cache.Apply(change.Action, change.OrgId, change.TargetId);
        }
    }

    public void Reset() => cache.Clear();
}

/// <summary>The figures of the device flow: verifications by outcome, registrations, validations, active sessions, the cache.</summary>
public sealed class DeviceMetrics(DeviceSessionCache cache, IServiceScopeFactory scopes, TimeProvider clock, ILogger<DeviceMetrics> logger) : IMetricsSource
{
    /// <summary>Active sessions are counted in the database at most this often (a scrape never waits for the count).</summary>
    internal static readonly TimeSpan ActiveSessionsRecount = TimeSpan.FromSeconds(15);

    private long _activeSessions;
    private long _activeCountedAt = long.MinValue;
    private int _counting;
    private long _verified;
    private long _failed;
    private long _registrations;
    private long _webAuthnRegistrations;
    private long _hits;
    private long _misses;
    private long _valid;
    private long _invalid;

    internal void CountVerification(bool verified) => Interlocked.Increment(ref verified ? ref _verified : ref _failed);

    internal void CountRegistration(string keyType) =>
        Interlocked.Increment(ref keyType == WebAuthnDevices.KeyType ? ref _webAuthnRegistrations : ref _registrations);

    internal void CountLookup(bool hit) => Interlocked.Increment(ref hit ? ref _hits : ref _misses);

    internal void CountValidation(bool valid) => Interlocked.Increment(ref valid ? ref _valid : ref _invalid);

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.device_auth.verifications", MetricKind.Counter, "Device verifications (token exchanges) by outcome; the success rate is verified / all.", () =>
        [
            new MetricSeries(Interlocked.Read(ref _verified), "outcome", "verified"),
            new MetricSeries(Interlocked.Read(ref _failed), "outcome", "failed"),
        ]),
        new("gatehouse.devices.registrations", MetricKind.Counter, "Devices registered (by the hosted page or server to server), by key type.", () =>
        [
            new MetricSeries(Interlocked.Read(ref _registrations), "key_type", DeviceKeys.KeyType),
            new MetricSeries(Interlocked.Read(ref _webAuthnRegistrations), "key_type", WebAuthnDevices.KeyType),
        ]),
        new("gatehouse.device_sessions.validations", MetricKind.Counter, "Device-session validations by result.", () =>
        [
            new MetricSeries(Interlocked.Read(ref _valid), "result", "valid"),
            new MetricSeries(Interlocked.Read(ref _invalid), "result", "invalid"),
        ]),
        new("gatehouse.device_session_cache.lookups", MetricKind.Counter, "Device-session lookups by cache result.", () =>
        [
            new MetricSeries(Interlocked.Read(ref _hits), "result", "hit"),
            new MetricSeries(Interlocked.Read(ref _misses), "result", "miss"),
        ]),
        new("gatehouse.device_session_cache.entries", MetricKind.Gauge, "Device sessions held in the validation cache.", () => [new MetricSeries(cache.Count)]),
        new("gatehouse.device_sessions.active", MetricKind.Gauge, "Device sessions neither ended nor expired, in every organization (recounted at most every 15 s).", () => [new MetricSeries(ActiveSessions())]),
    ];

    /// <summary>The last count; a stale one starts a recount in the background and is answered meanwhile.</summary>
    private long ActiveSessions()
    {
        var countedAt = Interlocked.Read(ref _activeCountedAt);
        var stale = countedAt == long.MinValue || clock.GetElapsedTime(countedAt) >= ActiveSessionsRecount;
        if (stale && Interlocked.CompareExchange(ref _counting, 1, 0) == 0)
        {
            _ = Task.Run(CountActiveSessionsAsync);
        }

        return Interlocked.Read(ref _activeSessions);
    }

    private async Task CountActiveSessionsAsync()
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var now = clock.GetUtcNow().UtcDateTime;
            Interlocked.Exchange(ref _activeSessions, await db.Set<DeviceSession>().LongCountAsync(s => s.EndedAt == null && s.ExpiresAt > now));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The gauge keeps its last value; the next scrape tries again.
            logger.LogWarning(exception, "Counting active device sessions failed");
        }
        finally
        {
            Interlocked.Exchange(ref _activeCountedAt, clock.GetTimestamp());
            Volatile.Write(ref _counting, 0);
        }
    }
}
