using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Contracts.ApiKeys;

namespace Gatehouse.Client;

/// <summary>
/// Verify verdicts kept in memory for a short time, keyed by a SHA-256 of the key and the permission
/// query: the key itself is never stored, so a heap dump of the caller does not hold its customers' keys.
/// Only answers of the server are kept (a failed call is not), and only VALID and definite refusals.
/// </summary>
internal sealed class VerdictCache(TimeSpan ttl, int capacity, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async Task<KeyVerdict> GetOrAddAsync(string key, string? permissions, Func<Task<KeyVerdict>> verify)
    {
        var cacheKey = CacheKey(key, permissions);
        var now = clock.GetUtcNow();
        if (_entries.TryGetValue(cacheKey, out var hit) && hit.ExpiresAt > now)
        {
            return hit.Verdict;
        }

        var verdict = await verify();
        // A rate-limit verdict changes within the window; caching it would refuse a caller longer than the server does.
        if (verdict.Code != VerifyCodes.RateLimited)
        {
            if (_entries.Count >= capacity)
            {
                Evict(now);
            }

            _entries[cacheKey] = new Entry(verdict, now + ttl);
        }

        return verdict;
    }

    private void Evict(DateTimeOffset now)
    {
        foreach (var (cacheKey, entry) in _entries)
        {
            if (entry.ExpiresAt <= now)
            {
                _entries.TryRemove(cacheKey, out _);
            }
        }

        // Still full of live entries: start over rather than grow without bound.
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }
    }

    private static string CacheKey(string key, string? permissions)
    {
        var bytes = Encoding.UTF8.GetBytes(key + "\n" + (permissions ?? ""));
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    private sealed record Entry(KeyVerdict Verdict, DateTimeOffset ExpiresAt);
}
