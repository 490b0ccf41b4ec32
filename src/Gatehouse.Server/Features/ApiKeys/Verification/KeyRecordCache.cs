using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// What verification needs of a key, read once and shared: an immutable snapshot except for the
/// refill mark, which the verifier advances after applying a refill so later verifies skip it.
/// </summary>
public sealed class CachedKey
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; init; }
    public string? OwnerId { get; init; }
    public IReadOnlyDictionary<string, JsonElement>? Meta { get; init; }
    public required IReadOnlyList<string> Permissions { get; init; }
    public required IReadOnlyList<string> Roles { get; init; }

    /// <summary>The key's own permissions and those of its roles.</summary>
    public required IReadOnlyCollection<string> EffectivePermissions { get; init; }

    public bool Enabled { get; init; }
    public DateTime? ExpiresAt { get; init; }
    public DateTime? RevokedAt { get; init; }
    public long? Remaining { get; init; }
    public KeyRefill? Refill { get; init; }
    public required IReadOnlyList<RateLimitRule> RateLimits { get; init; }
    public required IReadOnlyList<IPNetwork> IpAllowlist { get; init; }

    // Ticks (0 = never), read and written atomically: verifies of one key run concurrently.
    private long _lastRefillTicks;

    /// <summary>The principal of a request authenticated by this key: made once per cached record.</summary>
    public CredentialOutcome AuthenticatedOutcome => field ??= CredentialOutcome.Success(new Principal(ActorKind.ApiKey, Id, OrgId, EffectivePermissions, AuthenticationMethod.SecretKey)
    {
        Restrictions = ExpiresAt is null && IpAllowlist.Count == 0 ? null : new CredentialRestrictions(ExpiresAt, IpAllowlist),
        OwnerId = OwnerId,
    });

    /// <summary>
    /// keyId … expiresAt of this key's verdicts as JSON, made by the verify endpoint on first use:
    /// they only change when the key does, and a change evicts the record.
    /// </summary>
    internal byte[]? VerdictFields { get; set; }

    /// <summary>The bytes of its VALID verdict's envelope up to the request id, made by the verify endpoint on first use.</summary>
    internal byte[]? PlainValidPrefix { get; set; }

    /// <summary>Its VALID verdict when it has neither credits nor rate limits: immutable, so shared by every verify.</summary>
    internal KeyVerdict? PlainValidVerdict { get; set; }

    /// <summary>The last refill time this node knows of; advanced after a refill attempt.</summary>
    public DateTime? LastRefillAt
    {
        get => Interlocked.Read(ref _lastRefillTicks) is var ticks and > 0 ? new DateTime(ticks, DateTimeKind.Utc) : null;
        set => Interlocked.Exchange(ref _lastRefillTicks, value?.Ticks ?? 0);
    }

    /// <summary>
    /// The record of <paramref name="key"/>. Records stay in memory for minutes, so each one is
    /// made of as few objects as it can be: a record made on a cache miss outlives the young
    /// generation, and every object in it is copied by the next collections (docs/performance.md,
    /// the cost of a miss). Empty collections are shared, and <paramref name="orgId"/> may be the
    /// organization id already held by other records (see <see cref="KeyRecordCache"/>).
    /// </summary>
    public static CachedKey From(ApiKey key, IReadOnlyList<string> rolePermissions, string? orgId = null) => new()
    {
        Id = key.Id,
        OrgId = orgId ?? key.OrgId,
        Name = key.Name,
        OwnerId = key.OwnerId,
        Meta = key.Meta,
        Permissions = key.Permissions.Count == 0 ? [] : key.Permissions,
        Roles = key.Roles.Count == 0 ? [] : key.Roles,
        EffectivePermissions = key.Permissions.Count == 0 && rolePermissions.Count == 0
            ? NoPermissions
            : key.Permissions.Concat(rolePermissions).ToHashSet(StringComparer.Ordinal),
        Enabled = key.Enabled && !key.OwnerSuspended,
        ExpiresAt = key.ExpiresAt,
        RevokedAt = key.RevokedAt,
        Remaining = key.Remaining,
        Refill = key.Refill,
        RateLimits = key.Ratelimits.Count == 0 ? [] : [.. key.Ratelimits.Select(r => new RateLimitRule(r.Name!, r.Limit!.Value, TimeSpan.FromMilliseconds(r.DurationMs!.Value)))],
        IpAllowlist = key.IpAllowlist.Count == 0 ? [] : [.. key.IpAllowlist.Select(IpRanges.Parse)],
        LastRefillAt = key.LastRefillAt,
    };

    private static readonly IReadOnlyCollection<string> NoPermissions = System.Collections.Frozen.FrozenSet<string>.Empty;
}

/// <summary>How many records the key cache holds; tests shrink them to reach the bounds quickly.</summary>
/// <param name="MaxEntries">Known keys.</param>
/// <param name="MaxUnknownPerOwner">Unknown hashes remembered for one organization (or for all anonymous and root lookups together).</param>
/// <param name="MaxUnknown">Unknown hashes remembered in all.</param>
public sealed record KeyCacheLimits(int MaxEntries = KeyRecordCache.MaxEntries, int MaxUnknownPerOwner = 1_000, int MaxUnknown = 50_000);

/// <summary>
/// Key records in memory, keyed by the hash of the secret, so a verify or an authenticated request
/// with a cached key costs no database round trip. Filled on a miss (unknown hashes are cached too:
/// a checksum-valid guess cannot reach the database twice). Unknown hashes are held apart from
/// known keys, and each organization's — or the anonymous callers' — within a bound of their own:
/// a tenant sending garbage only pushes out its own earlier garbage, never another tenant's hot
/// keys nor its remembered guesses. Every change to a key evicts it here,
/// synchronously, after its transaction commits; a generation counter stops a load that read the
/// row before the commit from putting the old record back. Role changes and organization deletes
/// evict before and again after their commit. Other nodes' changes arrive through the change feed
/// (<see cref="KeyCacheClusterChanges"/>) within a second; entries also expire after <see cref="Lifetime"/> as a last safety net.
/// </summary>
public sealed class KeyRecordCache(IServiceScopeFactory scopes, TimeProvider clock, KeyCacheLimits? limits = null) : IMetricsSource
{
    public const int MaxEntries = 100_000;

    /// <summary>The owner of unknown hashes looked up without an organization: API authentication and root verifies.</summary>
    private const string AnonymousOwner = "";

    private readonly KeyCacheLimits _limits = limits ?? new KeyCacheLimits();

    /// <summary>
    /// How long an entry is trusted: only a safety net, since every change evicts on this node after
    /// its commit and on the other nodes through the change feed (a short lifetime would turn hot
    /// keys into periodic database reads).
    /// </summary>
    public TimeSpan Lifetime { get; } = TimeSpan.FromMinutes(10);

    // Compiled once: a cache miss then skips building and looking up the LINQ expression, which a
    // profile of misses put at about half of EF's share of a miss. Only the columns a record
    // holds are read: the others (hash, start, prefix, timestamps) were strings to allocate and
    // dates to parse on every miss, for nothing.
    private static readonly Func<GatehouseDb, string, CancellationToken, Task<ApiKey?>> KeyByHash =
        EF.CompileAsyncQuery((GatehouseDb db, string hash, CancellationToken _) => db.Set<ApiKey>().AsNoTracking().Where(k => k.Hash == hash).Select(k => new ApiKey
        {
            Id = k.Id,
            OrgId = k.OrgId,
            Name = k.Name,
            Hash = "",
            Start = "",
            Prefix = "",
            Permissions = k.Permissions,
            Roles = k.Roles,
            Enabled = k.Enabled,
            OwnerSuspended = k.OwnerSuspended,
            ExpiresAt = k.ExpiresAt,
            OwnerId = k.OwnerId,
            Meta = k.Meta,
            Remaining = k.Remaining,
            Refill = k.Refill,
            LastRefillAt = k.LastRefillAt,
            Ratelimits = k.Ratelimits,
            IpAllowlist = k.IpAllowlist,
            RevokedAt = k.RevokedAt,
        }).FirstOrDefault());

    // Sized for MaxEntries from the start, so it never grows: growing rehashes every entry (new
    // nodes included) under all of its locks, and a verify waited 60-80 ms for it when the cache
    // passed about 65 000 keys (docs/performance.md).
    private readonly ConcurrentDictionary<SecretDigest, Entry> _entries = new(Environment.ProcessorCount, (limits ?? new KeyCacheLimits()).MaxEntries);

    // Unknown hashes, with a queue per owner in arrival order: an owner over its bound drops its
    // own oldest. A queue may hold digests already gone (evicted, or re-remembered by another
    // owner); they are skipped when dequeued, and only make the owner's bound tighter.
    private readonly ConcurrentDictionary<SecretDigest, Unknown> _unknown = new();
    private readonly ConcurrentDictionary<string, UnknownQueue> _unknownByOwner = new(StringComparer.Ordinal);
    private int _unknownCount;

    // One instance of each organization's id for all its cached records, instead of one copy per
    // key read from the database. Bounded: past MaxOrgIds, records keep their own copy.
    private const int MaxOrgIds = 10_000;
    private readonly ConcurrentDictionary<string, string> _orgIds = new(StringComparer.Ordinal);
    private long _generation;
    private long _hits;
    private long _misses;

    /// <summary>Known keys and unknown hashes held.</summary>
    public int Count => _entries.Count + Volatile.Read(ref _unknownCount);

    /// <summary>Lookups answered from memory (an unknown hash remembered as unknown counts too).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that read the database.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    public ValueTask<CachedKey?> FindAsync(SecretDigest digest, CancellationToken cancellationToken) => FindAsync(digest, null, cancellationToken);

    /// <summary>
    /// The record of <paramref name="digest"/>, or null when no key has it. <paramref name="ownerOrgId"/>
    /// is the organization asking (verify), null when unknown; an unknown hash counts against its bound.
    /// </summary>
    public ValueTask<CachedKey?> FindAsync(SecretDigest digest, string? ownerOrgId, CancellationToken cancellationToken) =>
        TryGetCached(digest, out var cached) ? ValueTask.FromResult(cached) : LoadAsync(digest, ownerOrgId, cancellationToken);

    /// <summary>
    /// True when memory answers for <paramref name="digest"/>: <paramref name="key"/> is its record,
    /// or null for a hash remembered as unknown. False when only the database can tell.
    /// </summary>
    public bool TryGetCached(SecretDigest digest, out CachedKey? key)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_entries.TryGetValue(digest, out var entry) && entry.ExpiresAt > now)
        {
            Interlocked.Increment(ref _hits);
            key = entry.Key;
            return true;
        }

        if (_unknown.TryGetValue(digest, out var unknown) && unknown.ExpiresAt > now)
        {
            Interlocked.Increment(ref _hits);
            key = null;
            return true;
        }

        key = null;
        return false;
    }

    /// <summary>Reads <paramref name="digest"/> from the database and remembers the answer: for a digest <see cref="TryGetCached"/> did not know.</summary>
    public ValueTask<CachedKey?> LoadAsync(SecretDigest digest, string? ownerOrgId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _misses);
        return LoadAsync(digest, ownerOrgId ?? AnonymousOwner, clock.GetUtcNow().UtcDateTime, cancellationToken);
    }

    private async ValueTask<CachedKey?> LoadAsync(SecretDigest digest, string owner, DateTime now, CancellationToken cancellationToken)
    {
        // Misses only (the hit path starts nothing); null, and free, unless traces are exported.
        using var span = Platform.Observability.Telemetry.Source.StartActivity("key_cache.miss");
        var hash = digest.ToHex();
        var generation = Interlocked.Read(ref _generation);
        CachedKey? loaded;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var key = await KeyByHash(db, hash, cancellationToken);
            loaded = key is null
                ? null
                : CachedKey.From(key, await scope.ServiceProvider.GetRequiredService<RoleDirectory>().ExpandAsync(key.OrgId, key.Roles, cancellationToken), SharedOrgId(key.OrgId));
        }

        if (Interlocked.Read(ref _generation) == generation)
        {
            if (loaded is null)
            {
                RememberUnknown(digest, owner, now + Lifetime);
            }
            else
            {
                if (_entries.Count >= _limits.MaxEntries)
                {
                    Shrink();
                }

                _entries[digest] = new Entry(loaded, now + Lifetime);
            }
        }

        return loaded;
    }

    private void RememberUnknown(SecretDigest digest, string owner, DateTime expiresAt)
    {
        // Owners are organizations that authenticated (verify) and the anonymous one, so this map
        // grows with the number of organizations only.
        var queue = _unknownByOwner.GetOrAdd(owner, static _ => new UnknownQueue());
        while (Volatile.Read(ref queue.Length) >= _limits.MaxUnknownPerOwner
            || (Volatile.Read(ref _unknownCount) >= _limits.MaxUnknown && Volatile.Read(ref queue.Length) > 0))
        {
            if (!queue.Digests.TryDequeue(out var oldest))
            {
                break;
            }

            Interlocked.Decrement(ref queue.Length);
            if (_unknown.TryGetValue(oldest, out var held) && string.Equals(held.Owner, owner, StringComparison.Ordinal) && _unknown.TryRemove(KeyValuePair.Create(oldest, held)))
            {
                Interlocked.Decrement(ref _unknownCount);
            }
        }

        if (Volatile.Read(ref _unknownCount) >= _limits.MaxUnknown)
        {
            return; // Full with other owners' guesses, and this owner has none to give up: not remembered.
        }

        var entry = new Unknown(owner, expiresAt);
        if (_unknown.TryAdd(digest, entry))
        {
            Interlocked.Increment(ref _unknownCount);
        }
        else
        {
            // Already remembered (expired, or by another owner): it moves to this owner's queue.
            _unknown[digest] = entry;
        }

        queue.Digests.Enqueue(digest);
        Interlocked.Increment(ref queue.Length);
    }

    private string SharedOrgId(string orgId)
    {
        if (_orgIds.TryGetValue(orgId, out var shared))
        {
            return shared;
        }

        return _orgIds.Count < MaxOrgIds ? _orgIds.GetOrAdd(orgId, orgId) : orgId;
    }

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.key_cache.lookups", MetricKind.Counter, "Key record lookups (verify and API-key authentication): hit answered from memory, miss read from the database",
            () => [new(Hits, "result", "hit"), new(Misses, "result", "miss")]),
        new("gatehouse.key_cache.entries", MetricKind.Gauge, "Key records held in memory", () => [new(Count)]),
    ];

    /// <summary>Forgets one key on this node; the next verify reads it from the database.</summary>
    public void Evict(string hash)
    {
        Interlocked.Increment(ref _generation);
        var digest = SecretDigest.FromHex(hash);
        _entries.TryRemove(digest, out _);
        if (_unknown.TryRemove(digest, out _))
        {
            Interlocked.Decrement(ref _unknownCount);
        }
    }

    /// <summary>Forgets every key of an organization (roles changed, organization deleted).</summary>
    public void EvictOrg(string orgId)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _entries)
        {
            if (entry.Key.OrgId == orgId)
            {
                _entries.TryRemove(hash, out _);
            }
        }
    }

    /// <summary>
    /// Forgets, in one pass over the cache, the keys named by <paramref name="keyIds"/> and every key
    /// of <paramref name="orgIds"/> (other nodes' changes arrive in batches; one scan serves a batch).
    /// </summary>
    public void Evict(IReadOnlySet<string> keyIds, IReadOnlySet<string> orgIds)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (hash, entry) in _entries)
        {
            if (keyIds.Contains(entry.Key.Id) || orgIds.Contains(entry.Key.OrgId))
            {
                _entries.TryRemove(hash, out _);
            }
        }
    }

    /// <summary>
    /// Forgets every known key (this node may have missed other nodes' changes). Hashes remembered
    /// as unknown stay: a key's hash exists only once its key is created, so none of them can have become a key.
    /// </summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    private void Shrink()
    {
        // Bounded memory: drop about a tenth, expired entries first. Any entry may go; it is reloaded on demand.
        var now = clock.GetUtcNow().UtcDateTime;
        var budget = _limits.MaxEntries / 10;
        foreach (var (hash, entry) in _entries)
        {
            if (entry.ExpiresAt <= now && _entries.TryRemove(hash, out _))
            {
                budget--;
            }
        }

        foreach (var hash in _entries.Keys)
        {
            if (budget-- <= 0)
            {
                break;
            }

            _entries.TryRemove(hash, out _);
        }
    }

    private sealed record Entry(CachedKey Key, DateTime ExpiresAt);

    private sealed record Unknown(string Owner, DateTime ExpiresAt);

    private sealed class UnknownQueue
    {
        public readonly ConcurrentQueue<SecretDigest> Digests = new();
        public int Length;
    }
}

/// <summary>CIDR ranges of an IP allowlist: IPv4 and IPv6, a bare address meaning a single host.</summary>
public static class IpRanges
{
    public static bool TryParse(string? text, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64)
        {
            return false;
        }

        if (!text.Contains('/', StringComparison.Ordinal))
        {
            if (!IPAddress.TryParse(text, out var address))
            {
                return false;
            }

            network = new IPNetwork(Normalize(address), address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        // A range with host bits set (10.0.0.1/8) is almost always a typo for something else: reject it.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return IPNetwork.TryParse(text, out network)
            && IPAddress.TryParse(text.AsSpan(0, slash), out var written)
            && written.Equals(network.BaseAddress);
    }

    public static IPNetwork Parse(string text) =>
        TryParse(text, out var network) ? network : throw new FormatException("Not a CIDR range.");

    public static bool Contains(IReadOnlyList<IPNetwork> ranges, IPAddress address)
    {
        address = Normalize(address);
        foreach (var range in ranges)
        {
            if (range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>IPv4 clients on a dual-stack socket arrive as ::ffff:a.b.c.d; they are matched as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
