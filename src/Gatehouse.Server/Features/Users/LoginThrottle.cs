using System.Collections.Concurrent;
using Gatehouse.Server.Platform.Observability;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// Slows password guessing per account without letting an attacker lock the real user out
/// (docs/users.md, "Throttling"):
/// <list type="bullet">
/// <item>Per (account, client IP): the first <see cref="FreeFailures"/> failures cost nothing; after
/// them each attempt waits 1 s, 2 s, 4 s … (doubling, at most <see cref="MaxDelay"/>) after the last
/// failure. A success from that IP clears its count.</item>
/// <item>Per account, across all IPs: the same doubling starts only after <see cref="AccountCeiling"/>
/// failures, and never applies to an IP that logged in to the account successfully in the last
/// <see cref="TrustedFor"/> — the real user keeps logging in from where they usually do while a
/// distributed attack is slowed to a crawl.</item>
/// </list>
/// The account is the submitted email address, normalised, whether or not a user has it: a
/// throttled answer says nothing about existence. Failures are forgotten <see cref="ForgetAfter"/>
/// after the last one. The counts live in this node's memory; several nodes each count their own.
/// </summary>
public sealed class LoginThrottle(TimeProvider clock) : IMetricsSource
{
    public const int FreeFailures = 5;
    public const int AccountCeiling = 100;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);
    public static readonly TimeSpan TrustedFor = TimeSpan.FromDays(30);
    private const int MaxEntries = 500_000;

    private readonly ConcurrentDictionary<string, Failures> _pairs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Failures> _accounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime> _trusted = new(StringComparer.Ordinal);
    private long _succeeded;
    private long _failed;
    private long _throttled;

    /// <summary>How long the attempt must wait; null: it may go ahead now.</summary>
    public TimeSpan? RetryAfter(string email, string ip)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var account = UserScope.NormalizeEmail(email);
        var pair = PairKey(account, ip);
        var wait = Remaining(_pairs, pair, FreeFailures, now);
        if (wait is null && !IsTrusted(pair, now))
        {
            wait = Remaining(_accounts, account, AccountCeiling, now);
        }

        if (wait is not null)
        {
            Interlocked.Increment(ref _throttled);
        }

        return wait;
    }

    public void RecordFailure(string email, string ip)
    {
        Interlocked.Increment(ref _failed);
        var now = clock.GetUtcNow().UtcDateTime;
        var account = UserScope.NormalizeEmail(email);
        Prune(now);
        Add(_pairs, PairKey(account, ip), now);
        Add(_accounts, account, now);
    }

    public void RecordSuccess(string email, string ip)
    {
        Interlocked.Increment(ref _succeeded);
        var now = clock.GetUtcNow().UtcDateTime;
        var pair = PairKey(UserScope.NormalizeEmail(email), ip);
        _pairs.TryRemove(pair, out _);
        _trusted[pair] = now;
    }

    private static string PairKey(string account, string ip) => account + "\n" + ip;

    private bool IsTrusted(string pair, DateTime now) => _trusted.TryGetValue(pair, out var at) && now - at < TrustedFor;

    private static TimeSpan? Remaining(ConcurrentDictionary<string, Failures> counts, string key, int free, DateTime now)
    {
        if (!counts.TryGetValue(key, out var failures))
        {
            return null;
        }

        var (count, last) = failures.Read();
        if (count < free || now - last >= ForgetAfter)
        {
            return null;
        }

        var doublings = Math.Min(count - free, 20);
        var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, doublings), MaxDelay.TotalSeconds));
        var until = last + delay;
        return now < until ? until - now : null;
    }

    private static void Add(ConcurrentDictionary<string, Failures> counts, string key, DateTime now) =>
        counts.GetOrAdd(key, static _ => new Failures()).Add(now, ForgetAfter);

    private void Prune(DateTime now)
    {
        if (_pairs.Count + _accounts.Count + _trusted.Count < MaxEntries)
        {
            return;
        }

        foreach (var map in new[] { _pairs, _accounts })
        {
            foreach (var (key, failures) in map)
            {
                if (now - failures.Read().Last >= ForgetAfter)
                {
                    map.TryRemove(key, out _);
                }
            }
        }

        foreach (var (key, at) in _trusted)
        {
            if (now - at >= TrustedFor)
            {
                _trusted.TryRemove(key, out _);
            }
        }
    }

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.logins", MetricKind.Counter, "Password logins by outcome (succeeded, failed, throttled).", () =>
        [
            new MetricSeries(Interlocked.Read(ref _succeeded), "outcome", "succeeded"),
            new MetricSeries(Interlocked.Read(ref _failed), "outcome", "failed"),
            new MetricSeries(Interlocked.Read(ref _throttled), "outcome", "throttled"),
        ]),
    ];

    private sealed class Failures
    {
        private readonly Lock _lock = new();
        private int _count;
        private DateTime _last;

        public (int Count, DateTime Last) Read()
        {
            lock (_lock)
            {
                return (_count, _last);
            }
        }

        public void Add(DateTime now, TimeSpan forgetAfter)
        {
            lock (_lock)
            {
                _count = now - _last >= forgetAfter ? 1 : _count + 1;
                _last = now;
            }
        }
    }
}
