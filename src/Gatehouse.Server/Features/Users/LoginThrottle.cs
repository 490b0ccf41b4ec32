using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

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
/// after the last one.
/// <para>
/// The counts live in the database (<c>login_throttle</c>), so every node of a cluster reads and adds
/// to the same ones: three nodes allow no more guesses than one, and a restart forgets nothing.
/// Rows are named by a keyed digest of the account (and address), never by the email itself. A
/// login already costs a password hash, so the one read and the upserts of a failure are small.
/// </para>
/// </summary>
public sealed class LoginThrottle(TimeProvider clock, SecretHasher hasher) : IMetricsSource
{
    public const int FreeFailures = 5;
    public const int AccountCeiling = 100;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);
    public static readonly TimeSpan TrustedFor = TimeSpan.FromDays(30);

    /// <summary>How often one node deletes expired rows (from the failure path; successes and reads never wait for it).</summary>
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    private long _succeeded;
    private long _failed;
    private long _throttled;
    private long _lastPruneTicks;

    /// <summary>How long the attempt must wait; null: it may go ahead now.</summary>
    public async Task<TimeSpan?> RetryAfterAsync(GatehouseDb db, string email, string ip, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (account, pair) = Subjects(email, ip);
        var rows = await db.Set<LoginThrottleEntry>().AsNoTracking()
            .Where(e => e.Subject == account || e.Subject == pair)
            .ToListAsync(cancellationToken);
        var pairRow = rows.Find(r => r.Subject == pair);
        var wait = Remaining(pairRow, FreeFailures, now);
        var trusted = pairRow?.TrustedAt is { } at && now - DateTimeOffset.FromUnixTimeMilliseconds(at) < TrustedFor;
        if (wait is null && !trusted)
        {
            wait = Remaining(rows.Find(r => r.Subject == account), AccountCeiling, now);
        }

        if (wait is not null)
        {
            Interlocked.Increment(ref _throttled);
        }

        return wait;
    }

    public async Task RecordFailureAsync(GatehouseDb db, string email, string ip, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _failed);
        var now = clock.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var forgetMs = (long)ForgetAfter.TotalMilliseconds;
        var expiresAt = nowMs + forgetMs;
        var (account, pair) = Subjects(email, ip);
        // One statement for both rows; a count whose last failure is older than ForgetAfter starts again.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO login_throttle (subject, failures, last_failure_at, trusted_at, expires_at)
            VALUES ({account}, 1, {nowMs}, NULL, {expiresAt}), ({pair}, 1, {nowMs}, NULL, {expiresAt})
            ON CONFLICT (subject) DO UPDATE SET
                failures = CASE WHEN login_throttle.last_failure_at IS NULL OR {nowMs} - login_throttle.last_failure_at >= {forgetMs}
                                THEN 1 ELSE login_throttle.failures + 1 END,
                last_failure_at = {nowMs},
                expires_at = CASE WHEN login_throttle.expires_at > {expiresAt} THEN login_throttle.expires_at ELSE {expiresAt} END
            """, cancellationToken);
        await PruneAsync(db, now, cancellationToken);
    }

    public async Task RecordSuccessAsync(GatehouseDb db, string email, string ip, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _succeeded);
        var nowMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var expiresAt = nowMs + (long)TrustedFor.TotalMilliseconds;
        var (_, pair) = Subjects(email, ip);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO login_throttle (subject, failures, last_failure_at, trusted_at, expires_at)
            VALUES ({pair}, 0, NULL, {nowMs}, {expiresAt})
            ON CONFLICT (subject) DO UPDATE SET failures = 0, last_failure_at = NULL, trusted_at = {nowMs}, expires_at = {expiresAt}
            """, cancellationToken);
    }

    /// <summary>The rows' names: keyed digests, so the table holds no email address or client IP.</summary>
    private (string Account, string Pair) Subjects(string email, string ip)
    {
        var account = UserScope.NormalizeEmail(email);
        return ("a:" + hasher.Hash("login-throttle\n" + account), "p:" + hasher.Hash("login-throttle\n" + account + "\n" + ip));
    }

    private static TimeSpan? Remaining(LoginThrottleEntry? entry, int free, DateTimeOffset now)
    {
        if (entry?.LastFailureAt is not { } lastMs)
        {
            return null;
        }

        var last = DateTimeOffset.FromUnixTimeMilliseconds(lastMs);
        if (entry.Failures < free || now - last >= ForgetAfter)
        {
            return null;
        }

        var doublings = Math.Min(entry.Failures - free, 20);
        var delay = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, doublings), MaxDelay.TotalSeconds));
        var until = last + delay;
        return now < until ? until - now : null;
    }

    private async Task PruneAsync(GatehouseDb db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var last = Interlocked.Read(ref _lastPruneTicks);
        if (now.UtcTicks - last < PruneEvery.Ticks || Interlocked.CompareExchange(ref _lastPruneTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        await db.Set<LoginThrottleEntry>().Where(e => e.ExpiresAt < nowMs).ExecuteDeleteAsync(cancellationToken);
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
}

/// <summary>One throttle count: an account's, or an account's from one address (with when that address last logged in).</summary>
public sealed class LoginThrottleEntry
{
    public required string Subject { get; init; }
    public int Failures { get; set; }
    public long? LastFailureAt { get; set; }
    public long? TrustedAt { get; set; }
    public long ExpiresAt { get; set; }
}

internal sealed class LoginThrottleEntryMapping : IEntityTypeConfiguration<LoginThrottleEntry>
{
    public void Configure(EntityTypeBuilder<LoginThrottleEntry> builder)
    {
        builder.ToTable("login_throttle");
        builder.HasKey(e => e.Subject);
    }
}
