using System.Net;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>Leaves every key field out of a NOT_FOUND verdict, so it is the same bytes whatever was presented.</summary>
public static class KeyVerdictJson
{
    public static void Configure(System.Text.Json.Serialization.Metadata.JsonTypeInfo typeInfo)
    {
        if (typeInfo.Type != typeof(KeyVerdict))
        {
            return;
        }

        foreach (var property in typeInfo.Properties)
        {
            if (property.Name is not ("valid" or "code"))
            {
                property.ShouldSerialize = (verdict, _) => ((KeyVerdict)verdict).Code != VerifyCodes.NotFound;
            }
        }
    }
}

/// <summary>
/// A verdict on a cached key that remembers the key (never serialized: responses are written as
/// <see cref="KeyVerdict"/>): the verify endpoint writes the key's fixed fields from bytes kept on it.
/// </summary>
internal sealed record CachedKeyVerdict : KeyVerdict
{
    public required CachedKey Source { get; init; }
}

/// <summary>What verify is asked: the parsed request.</summary>
public readonly record struct VerifyInput(string Key, PermissionQuery? Permissions, long Cost, IReadOnlyDictionary<string, long> RateLimitCosts, IPAddress? Ip);

/// <summary>
/// The checks of API.md §4, in order, stopping at the first failure: NOT_FOUND, REVOKED, DISABLED,
/// EXPIRED, FORBIDDEN (IP allowlist), INSUFFICIENT_PERMISSIONS, RATE_LIMITED, USAGE_EXCEEDED.
/// A cached key without credits costs no database round trip; credits are taken with one atomic
/// conditional UPDATE, so concurrent verifies can never spend more than there is.
/// </summary>
public sealed class KeyVerifier(KeyRecordCache cache, SecretHasher hasher, RateLimiter rateLimiter, KeyUsageRecorder usage, CreditSpender credits, IServiceScopeFactory scopes, TimeProvider clock)
{
    public static readonly KeyVerdict NotFound = new() { Valid = false, Code = VerifyCodes.NotFound };

    /// <summary>The record of <paramref name="key"/>, or null when it is no key of ours.</summary>
    public ValueTask<CachedKey?> FindAsync(string key, CancellationToken cancellationToken) => FindAsync(key, hasher.Digest(key), null, cancellationToken);

    /// <summary>
    /// The record of <paramref name="key"/> (whose digest is <paramref name="digest"/>), on behalf of
    /// <paramref name="callerOrgId"/> when an organization asks: an unknown key counts against that
    /// organization's share of the cache. Memory first: a digest held there belongs to a key that
    /// was well-formed when it was stored or looked up, so only a digest memory does not know has its
    /// format and checksum checked — before the database is read, so garbage never reaches storage.
    /// </summary>
    public ValueTask<CachedKey?> FindAsync(string key, SecretDigest digest, string? callerOrgId, CancellationToken cancellationToken)
    {
        if (cache.TryGetCached(digest, out var cached))
        {
            return ValueTask.FromResult(cached);
        }

        return ApiKeyFormat.IsWellFormed(key) ? cache.LoadAsync(digest, callerOrgId, cancellationToken) : ValueTask.FromResult<CachedKey?>(null);
    }

    /// <summary>
    /// Runs every check; <c>callerOrgId</c> is the verifying organization, null for root (which may
    /// verify any key). Under an <c>Idempotency-Key</c> (<paramref name="idempotency"/>), a credit
    /// spend commits together with the record's committed mark, so a retry never spends it again.
    /// </summary>
    public async ValueTask<KeyVerdict> VerifyAsync(VerifyInput input, string? callerOrgId, CancellationToken cancellationToken, IdempotencyClaim? idempotency = null)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var key = await FindAsync(input.Key, hasher.Digest(input.Key), callerOrgId, cancellationToken);
        if (key is null || (callerOrgId is not null && key.OrgId != callerOrgId))
        {
            // Another organization's key is answered exactly like a random string, and counted for the caller only.
            if (callerOrgId is not null)
            {
                usage.Record(callerOrgId, "", VerifyCodes.NotFound, now, used: false);
            }

            return NotFound;
        }

        var code = CheckState(key, now);
        if (code is null && key.IpAllowlist.Count > 0 && (input.Ip is null || !IpRanges.Contains(key.IpAllowlist, input.Ip)))
        {
            code = VerifyCodes.Forbidden;
        }

        if (code is null && input.Permissions is not null && !input.Permissions.IsSatisfiedBy(key.EffectivePermissions))
        {
            code = VerifyCodes.InsufficientPermissions;
        }

        // cost 0 is a dry run: every check answers as for cost 1, but no rate-limit unit or credit is taken.
        var dryRun = input.Cost == 0;
        IReadOnlyList<RateLimitState> limits = [];
        if (code is null && key.RateLimits.Count > 0)
        {
            (var allowed, limits) = await ConsumeRateLimitsAsync(key, input.RateLimitCosts, consume: !dryRun, cancellationToken);
            code = allowed ? null : VerifyCodes.RateLimited;
        }

        var remaining = key.Remaining;
        if (key.Remaining is not null)
        {
            if (code is null && dryRun)
            {
                remaining = await ReadCreditsAsync(key, now, cancellationToken);
                code = remaining < 1 ? VerifyCodes.UsageExceeded : null;
            }
            else if (code is null)
            {
                (var spent, remaining) = await SpendCreditsAsync(key, input.Cost, now, idempotency, cancellationToken);
                code = spent ? null : VerifyCodes.UsageExceeded;
            }
            else
            {
                remaining = await ReadCreditsAsync(key, now, cancellationToken);
            }
        }

        code ??= VerifyCodes.Valid;
        usage.Record(key.OrgId, key.Id, code, now, used: code == VerifyCodes.Valid);
        // The common answer — valid, no credits, no limits — is the same object every time.
        return code == VerifyCodes.Valid && remaining is null && limits.Count == 0
            ? key.PlainValidVerdict ??= Describe(key, code, remaining, limits)
            : Describe(key, code, remaining, limits);
    }

    /// <summary>REVOKED, DISABLED or EXPIRED — the checks that need nothing but the record; null when none fails.</summary>
    public static string? CheckState(CachedKey key, DateTime now) =>
        key.RevokedAt is not null ? VerifyCodes.Revoked
        : !key.Enabled ? VerifyCodes.Disabled
        : key.ExpiresAt is { } expiresAt && expiresAt <= now ? VerifyCodes.Expired
        : null;

    public static KeyVerdict Describe(CachedKey key, string code, long? remaining, IReadOnlyList<RateLimitState> limits) => new CachedKeyVerdict
    {
        Valid = code == VerifyCodes.Valid,
        Code = code,
        KeyId = key.Id,
        OrgId = key.OrgId,
        Name = key.Name,
        OwnerId = key.OwnerId,
        Meta = key.Meta,
        Permissions = key.Permissions,
        Roles = key.Roles,
        ExpiresAt = key.ExpiresAt,
        Remaining = remaining,
        Ratelimits = limits,
        Source = key,
    };

    /// <summary>
    /// Every rate limit of the key applies, at cost 1 or the cost the request names for it. Limits of
    /// equal cost are taken in one atomic step; when costs differ, groups run in turn and stop at the
    /// first that is exceeded (an earlier group's units then stay spent).
    /// </summary>
    private async Task<(bool Allowed, IReadOnlyList<RateLimitState> States)> ConsumeRateLimitsAsync(
        CachedKey key, IReadOnlyDictionary<string, long> costs, bool consume, CancellationToken cancellationToken)
    {
        var states = new List<RateLimitState>(key.RateLimits.Count);
        foreach (var group in key.RateLimits.GroupBy(r => costs.TryGetValue(r.Name, out var cost) ? cost : 1))
        {
            var decision = consume
                ? await rateLimiter.TryConsumeFastAsync("key:" + key.Id, [.. group], group.Key, cancellationToken)
                : await rateLimiter.PeekAsync("key:" + key.Id, [.. group], group.Key, cancellationToken);
            states.AddRange(decision.Windows.Select(w =>
                new RateLimitState(w.Rule.Name, w.Rule.Limit, (long)w.Rule.Window.TotalMilliseconds, w.Remaining, w.ResetAt, w.Exceeded)));
            if (!decision.Allowed)
            {
                return (false, states);
            }
        }

        return (true, states);
    }

    private async Task<(bool Spent, long? Remaining)> SpendCreditsAsync(CachedKey key, long cost, DateTime now, IdempotencyClaim? idempotency, CancellationToken cancellationToken)
    {
        if (KeyRefills.IsDue(key.Refill, key.LastRefillAt, now, out _))
        {
            await using var scope = scopes.CreateAsyncScope();
            await ApplyDueRefillAsync(scope.ServiceProvider.GetRequiredService<GatehouseDb>(), key, now, cancellationToken);
        }

        return idempotency is null
            ? await credits.SpendAsync(key.Id, cost, cancellationToken)
            : await credits.SpendOnceAsync(key.Id, cost, idempotency, cancellationToken);
    }

    private async Task<long?> ReadCreditsAsync(CachedKey key, DateTime now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var stored = await db.Set<ApiKey>().AsNoTracking().Where(k => k.Id == key.Id)
            .Select(k => new { k.Remaining, k.LastRefillAt }).FirstOrDefaultAsync(cancellationToken);
        if (stored is null)
        {
            return null;
        }

        // A failed verify spends nothing, so it does not apply a due refill either; it only reports it.
        return KeyRefills.IsDue(key.Refill, stored.LastRefillAt, now, out _) ? key.Refill!.Amount : stored.Remaining;
    }

    /// <summary>
    /// Refills are applied lazily, by the first verify after they fall due: the conditional UPDATE
    /// sets the balance (never adds) and lets exactly one of several racing verifies do it.
    /// </summary>
    private static async Task ApplyDueRefillAsync(GatehouseDb db, CachedKey key, DateTime now, CancellationToken cancellationToken)
    {
        if (!KeyRefills.IsDue(key.Refill, key.LastRefillAt, now, out var scheduledAt))
        {
            return;
        }

        var at = (DateTime?)scheduledAt;
        var amount = key.Refill!.Amount;
        await db.Set<ApiKey>().Where(k => k.Id == key.Id && (k.LastRefillAt == null || k.LastRefillAt < at))
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.Remaining, amount).SetProperty(k => k.LastRefillAt, at), cancellationToken);
        key.LastRefillAt = scheduledAt;
    }
}
