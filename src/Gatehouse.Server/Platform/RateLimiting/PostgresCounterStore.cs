using System.Collections.Concurrent;
using Npgsql;

namespace Gatehouse.Server.Platform.RateLimiting;

/// <summary>How the shared counters trade round trips for precision (<c>Gatehouse:RateLimits</c>, docs/rate-limits.md).</summary>
/// <param name="FlushInterval">How often a node adds its locally counted units to the shared rows and reads the totals back.</param>
/// <param name="ExactThresholdPercent">Share of a limit past which a window is decided by the shared rows on every request, until its interval ends.</param>
/// <param name="LocalBudgetPercent">Share of a limit one node may admit without telling the shared rows.</param>
public sealed record SharedCounterSettings(TimeSpan FlushInterval, int ExactThresholdPercent, int LocalBudgetPercent);

/// <summary>
/// Sliding-window counters shared by every node on one PostgreSQL database (decision 0015), the
/// same algorithm as <see cref="InMemoryCounterStore"/>: a window is the count of its current
/// fixed interval plus the previous interval's count weighted by the share still inside it.
///
/// Exact decisions (<see cref="TryConsumeAsync"/>) are one round trip: the subject's advisory
/// lock and one statement that reads every window, and adds the cost to all of them only when all
/// have room, travel in one batch and commit together. Fast decisions
/// (<see cref="TryConsumeFastAsync"/>, the verify path) count on this node and reconcile every
/// flush; a window asks the shared rows on every request once it is nearly spent, or when this
/// node's unreported units reach its budget, which bounds what the nodes together over-admit.
/// </summary>
public sealed class PostgresCounterStore : BackgroundService, IRateLimitCounterStore
{
    // Two-key advisory locks are a key space of their own (the migrator's lock uses the one-key form).
    private const int AdvisoryLockClass = 0x52_4C_43; // "RLC"
    private const long PruneEveryMilliseconds = 60_000;

    private const string Columns = "subject, rule, rule_limit, window_ms, interval_start";

    private const string LockSql = "SELECT pg_advisory_xact_lock($1, hashtext($2))";

    // Units already admitted by this node: added whatever the totals are.
    private const string AddSql = $"""
        INSERT INTO rate_limit_counters ({Columns}, count, expires_at)
        SELECT f.subject, f.rule, f.rule_limit, f.window_ms, f.interval_start, f.amount, f.interval_start + 2 * f.window_ms
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS f(subject, rule, rule_limit, window_ms, interval_start, amount)
        ON CONFLICT ({Columns}) DO UPDATE SET count = rate_limit_counters.count + excluded.count
        """;

    // Reads each window's previous and current interval, decides, and adds the cost to every window
    // only when all have room. The same arithmetic as SlidingCount below, in float8 as in C#.
    private const string DecideSql = $"""
        WITH rules AS (
            SELECT r.ord, r.rule, r.rule_limit, r.window_ms, $4 - $4 % r.window_ms AS interval_start
            FROM unnest($2::text[], $3::bigint[], $7::bigint[]) WITH ORDINALITY AS r(rule, rule_limit, window_ms, ord)
        ), counted AS (
            SELECT r.*,
                COALESCE((SELECT c.count FROM rate_limit_counters c WHERE c.subject = $1 AND c.rule = r.rule AND c.rule_limit = r.rule_limit
                    AND c.window_ms = r.window_ms AND c.interval_start = r.interval_start - r.window_ms), 0) AS previous,
                COALESCE((SELECT c.count FROM rate_limit_counters c WHERE c.subject = $1 AND c.rule = r.rule AND c.rule_limit = r.rule_limit
                    AND c.window_ms = r.window_ms AND c.interval_start = r.interval_start), 0) AS current
            FROM rules r
        ), judged AS (
            SELECT c.*, ceil(c.previous * (1 - ($4 - c.interval_start)::float8 / c.window_ms))::bigint + c.current + $5 <= c.rule_limit AS has_room
            FROM counted c
        ), verdict AS (
            SELECT bool_and(j.has_room) AS allowed FROM judged j
        ), added AS (
            INSERT INTO rate_limit_counters ({Columns}, count, expires_at)
            SELECT $1, j.rule, j.rule_limit, j.window_ms, j.interval_start, $5, j.interval_start + 2 * j.window_ms
            FROM judged j, verdict v WHERE v.allowed AND $6 AND $5 > 0
            ON CONFLICT ({Columns}) DO UPDATE SET count = rate_limit_counters.count + excluded.count
        )
        SELECT j.previous, j.current, j.has_room, v.allowed FROM judged j, verdict v ORDER BY j.ord
        """;

    // The periodic flush: adds each window's unreported units and reads back the totals. RETURNING
    // gives the count after this node's addition (the newest row, even one committed after this
    // statement began); a window with nothing to add reads the snapshot.
    private const string FlushSql = $"""
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
                WITH ORDINALITY AS f(subject, rule, rule_limit, window_ms, interval_start, amount, ord)
        ), added AS (
            INSERT INTO rate_limit_counters ({Columns}, count, expires_at)
            SELECT i.subject, i.rule, i.rule_limit, i.window_ms, i.interval_start, i.amount, i.interval_start + 2 * i.window_ms
            FROM input i WHERE i.amount > 0
            ON CONFLICT ({Columns}) DO UPDATE SET count = rate_limit_counters.count + excluded.count
            RETURNING {Columns}, count
        )
        SELECT
            COALESCE(a.count, (SELECT c.count FROM rate_limit_counters c WHERE c.subject = i.subject AND c.rule = i.rule AND c.rule_limit = i.rule_limit
                AND c.window_ms = i.window_ms AND c.interval_start = i.interval_start), 0),
            COALESCE((SELECT c.count FROM rate_limit_counters c WHERE c.subject = i.subject AND c.rule = i.rule AND c.rule_limit = i.rule_limit
                AND c.window_ms = i.window_ms AND c.interval_start = i.interval_start - i.window_ms), 0)
        FROM input i
        LEFT JOIN added a ON a.subject = i.subject AND a.rule = i.rule AND a.rule_limit = i.rule_limit AND a.window_ms = i.window_ms AND a.interval_start = i.interval_start
        ORDER BY i.ord
        """;

    private const string PruneSql = "DELETE FROM rate_limit_counters WHERE expires_at < $1";

    private readonly NpgsqlDataSource _dataSource;
    private readonly SharedCounterSettings _settings;
    private readonly ILogger<PostgresCounterStore> _logger;
    private readonly ConcurrentDictionary<string, Subject> _subjects = new(StringComparer.Ordinal);

    // The latest decision time, in unix milliseconds: the flusher prunes by the clock the decisions
    // use (tests move it), not by the machine's.
    private long _latestNowMs;
    private long _lastPruneMs;

    public PostgresCounterStore(string connectionString, SharedCounterSettings settings, ILogger<PostgresCounterStore> logger)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _settings = settings;
        _logger = logger;
    }

    public async ValueTask<RateLimitDecision> TryConsumeAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, DateTimeOffset now, bool consume, CancellationToken cancellationToken)
    {
        var nowMs = Observe(now);
        var counts = await DecideAsync(subject, rules, cost, nowMs, consume, unreported: null, cancellationToken);
        return ToDecision(rules, cost, nowMs, counts);
    }

    public ValueTask<RateLimitDecision> TryConsumeFastAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMs = Observe(now);
        while (true)
        {
            var state = _subjects.GetOrAdd(subject, static key => new Subject(key));
            lock (state)
            {
                if (state.Forgotten)
                {
                    // Swept as idle between the lookup and the lock: its units would never be reported.
                    continue;
                }

                state.LastUsedMs = nowMs;
                if (TryDecideLocally(state, rules, cost, nowMs) is { } local)
                {
                    return ValueTask.FromResult(local);
                }
            }

            return DecideSharedAsync(state, rules, cost, nowMs, cancellationToken);
        }
    }

    /// <summary>
    /// The decision from this node's view, or null when the shared rows must decide. The view —
    /// totals read at the last flush plus units this node has not reported — never exceeds the true
    /// count, so a request it rejects would be rejected by the shared rows too.
    /// </summary>
    private RateLimitDecision? TryDecideLocally(Subject state, IReadOnlyList<RateLimitRule> rules, long cost, long nowMs)
    {
        var windows = state.Scratch(rules.Count);
        var allowed = true;
        var mustAsk = false;
        for (var i = 0; i < rules.Count; i++)
        {
            var window = windows[i] = state.Get(rules[i]);
            if (window.IntervalStart != IntervalStart(nowMs, window.WindowMs))
            {
                // A new interval: its first decision reports the last one's units and reads the totals.
                return null;
            }

            var used = window.Seen(nowMs);
            var limit = rules[i].Limit;
            if (used + cost > limit)
            {
                allowed = false;
            }
            else if (window.Exact || (used + cost) * 100 > limit * _settings.ExactThresholdPercent)
            {
                window.Exact = true;
                mustAsk = true;
            }
            else if (window.Unreported + cost > limit * _settings.LocalBudgetPercent / 100)
            {
                mustAsk = true;
            }
        }

        if (allowed && mustAsk)
        {
            return null;
        }

        var verdicts = new WindowVerdict[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            var window = windows[i];
            if (allowed)
            {
                window.Pending += cost;
            }

            window.Dirty = true;
            var used = window.Seen(nowMs);
            verdicts[i] = Verdict(rules[i], window.IntervalStart, window.KnownCurrent + window.Unreported, used, cost, exceeded: !allowed && used + cost > rules[i].Limit);
        }

        Array.Clear(windows, 0, rules.Count);
        return new RateLimitDecision(allowed, verdicts);
    }

    /// <summary>Reports this subject's unreported units and decides exactly, in one round trip.</summary>
    private async ValueTask<RateLimitDecision> DecideSharedAsync(Subject state, IReadOnlyList<RateLimitRule> rules, long cost, long nowMs, CancellationToken cancellationToken)
    {
        var reports = new List<Report>(rules.Count + 1);
        var windows = new Window[rules.Count];
        lock (state)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                var window = windows[i] = state.Get(rules[i]);
                window.Roll(nowMs, reports);
                window.Report(reports);
            }
        }

        Counts counts;
        try
        {
            counts = await DecideAsync(state.Key, rules, cost, nowMs, consume: true, reports, cancellationToken);
        }
        catch
        {
            Restore(state, reports);
            throw;
        }

        lock (state)
        {
            foreach (var report in reports)
            {
                report.Window.Reported(report.IntervalStart, report.Amount);
            }

            for (var i = 0; i < rules.Count; i++)
            {
                var window = windows[i];
                var added = counts.Allowed ? cost : 0;
                window.Learn(IntervalStart(nowMs, window.WindowMs), counts.Previous[i], counts.Current[i] + added);
                if ((window.Seen(nowMs) + cost) * 100 > rules[i].Limit * _settings.ExactThresholdPercent)
                {
                    window.Exact = true;
                }
            }
        }

        return ToDecision(rules, cost, nowMs, counts);
    }

    private async Task<Counts> DecideAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, long nowMs, bool consume, List<Report>? unreported, CancellationToken cancellationToken)
    {
        var names = new string[rules.Count];
        var limits = new long[rules.Count];
        var lengths = new long[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            names[i] = rules[i].Name;
            limits[i] = rules[i].Limit;
            lengths[i] = WindowMilliseconds(rules[i]);
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // One batch is one round trip and one implicit transaction: the lock is held until the
        // decision commits, and the decision's statement starts after the lock is granted, so it
        // reads every decision committed before it.
        await using var batch = new NpgsqlBatch(connection);
        if (consume)
        {
            batch.BatchCommands.Add(Command(LockSql, AdvisoryLockClass, subject));
        }

        if (unreported is { Count: > 0 })
        {
            batch.BatchCommands.Add(AddCommand(AddSql, unreported));
        }

        batch.BatchCommands.Add(Command(DecideSql, subject, names, limits, nowMs, cost, consume, lengths));
        var counts = new Counts(new long[rules.Count], new long[rules.Count], new bool[rules.Count]) { Consumed = consume };
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (reader.FieldCount != 4 && await reader.NextResultAsync(cancellationToken))
        {
            // The lock's row and the addition's count come first.
        }

        for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
        {
            counts.Previous[i] = reader.GetInt64(0);
            counts.Current[i] = reader.GetInt64(1);
            counts.HasRoom[i] = reader.GetBoolean(2);
            counts.Allowed = reader.GetBoolean(3);
        }

        return counts;
    }

    private static RateLimitDecision ToDecision(IReadOnlyList<RateLimitRule> rules, long cost, long nowMs, Counts counts)
    {
        var verdicts = new WindowVerdict[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var windowMs = WindowMilliseconds(rule);
            var start = IntervalStart(nowMs, windowMs);
            var current = counts.Current[i] + (counts.Allowed && counts.Consumed ? cost : 0);
            var used = SlidingCount(counts.Previous[i], current, start, nowMs, windowMs);
            verdicts[i] = Verdict(rule, start, current, used, cost, exceeded: !counts.Allowed && !counts.HasRoom[i]);
        }

        return new RateLimitDecision(counts.Allowed, verdicts);
    }

    /// <summary>The same state as <see cref="InMemoryCounterStore"/> reports: what is left, and when a request of this cost surely fits.</summary>
    private static WindowVerdict Verdict(RateLimitRule rule, long intervalStart, long current, long used, long cost, bool exceeded)
    {
        var intervalEnd = DateTimeOffset.FromUnixTimeMilliseconds(intervalStart) + rule.Window;
        var resetAt = current + cost <= rule.Limit ? intervalEnd : intervalEnd + rule.Window;
        return new WindowVerdict(rule, Math.Max(0, rule.Limit - used), resetAt, exceeded);
    }

    private static long IntervalStart(long nowMs, long windowMs) => nowMs - nowMs % windowMs;

    private static long WindowMilliseconds(RateLimitRule rule) => Math.Max(1, rule.Window.Ticks / TimeSpan.TicksPerMillisecond);

    private static long SlidingCount(long previous, long current, long intervalStart, long nowMs, long windowMs)
    {
        var elapsed = (double)(nowMs - intervalStart) / windowMs;
        // Ceiling: the weighted share of the previous interval is never rounded in the client's favour.
        return (long)Math.Ceiling(previous * (1 - elapsed)) + current;
    }

    private long Observe(DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var latest = Interlocked.Read(ref _latestNowMs);
        while (nowMs > latest)
        {
            var seen = Interlocked.CompareExchange(ref _latestNowMs, nowMs, latest);
            if (seen == latest)
            {
                break;
            }

            latest = seen;
        }

        return nowMs;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.FlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync flushes once more.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _dataSource.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Reports every window's unreported units, reads back the totals of every window used since
    /// the last flush, forgets idle subjects and, once a minute, deletes rows no window reads any more.
    /// A failure is logged; the units go back to be reported next time.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var nowMs = Interlocked.Read(ref _latestNowMs);
        var reports = new List<Report>();
        foreach (var (key, state) in _subjects)
        {
            lock (state)
            {
                foreach (var window in state.Windows)
                {
                    if (window.Pending > 0 || window.Dirty)
                    {
                        window.Dirty = false;
                        window.Report(reports, evenIfNothing: true);
                    }
                }

                if (nowMs - state.LastUsedMs > state.LongestWindowMs * 2 && state.Windows.All(w => w.Unreported == 0))
                {
                    state.Forgotten = true;
                    _subjects.TryRemove(key, out _);
                }
            }
        }

        try
        {
            if (reports.Count > 0)
            {
                await FlushReportsAsync(reports, cancellationToken);
            }

            if (nowMs - _lastPruneMs >= PruneEveryMilliseconds)
            {
                _lastPruneMs = nowMs;
                await using var prune = _dataSource.CreateCommand(PruneSql);
                prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = nowMs });
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            _logger.LogWarning(e, "Could not flush {Windows} rate-limit windows to the shared counters; they are retried at the next flush", reports.Count);
        }
    }

    private async Task FlushReportsAsync(List<Report> reports, CancellationToken cancellationToken)
    {
        var totals = new (long Current, long Previous)[reports.Count];
        try
        {
            await using var command = WithReports(_dataSource.CreateCommand(FlushSql), reports);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
            {
                totals[i] = (reader.GetInt64(0), reader.GetInt64(1));
            }
        }
        catch
        {
            foreach (var group in reports.GroupBy(r => r.Window.Owner))
            {
                Restore(group.Key, [.. group]);
            }

            throw;
        }

        for (var i = 0; i < reports.Count; i++)
        {
            var report = reports[i];
            lock (report.Window.Owner)
            {
                report.Window.Reported(report.IntervalStart, report.Amount);
                report.Window.Learn(report.IntervalStart, totals[i].Previous, totals[i].Current);
            }
        }
    }

    /// <summary>Units that could not be reported go back to be reported again.</summary>
    private static void Restore(Subject state, List<Report> reports)
    {
        lock (state)
        {
            foreach (var report in reports)
            {
                report.Window.Unreport(report.IntervalStart, report.Amount);
            }
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static NpgsqlBatchCommand AddCommand(string sql, List<Report> reports)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddReportParameters(command.Parameters, reports);
        return command;
    }

    private static NpgsqlCommand WithReports(NpgsqlCommand command, List<Report> reports)
    {
        AddReportParameters(command.Parameters, reports);
        return command;
    }

    private static void AddReportParameters(NpgsqlParameterCollection parameters, List<Report> reports)
    {
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.Window.Owner.Key).ToArray() });
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.Window.Rule).ToArray() });
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.Window.Limit).ToArray() });
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.Window.WindowMs).ToArray() });
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.IntervalStart).ToArray() });
        parameters.Add(new NpgsqlParameter { Value = reports.Select(r => r.Amount).ToArray() });
    }

    private sealed class Counts(long[] previous, long[] current, bool[] hasRoom)
    {
        public long[] Previous { get; } = previous;
        public long[] Current { get; } = current;
        public bool[] HasRoom { get; } = hasRoom;
        public bool Allowed { get; set; }

        /// <summary>Whether the cost was added when allowed (false for a peek).</summary>
        public bool Consumed { get; set; } = true;
    }

    /// <summary>Units of one window's interval on their way to the shared row.</summary>
    private readonly record struct Report(Window Window, long IntervalStart, long Amount);

    /// <summary>One subject's windows on this node; every field is guarded by locking the subject.</summary>
    private sealed class Subject(string key)
    {
        private readonly Dictionary<(string, long, long), Window> _windows = [];
        private Window[] _scratch = [];

        public string Key { get; } = key;
        public long LastUsedMs { get; set; }

        /// <summary>Swept as idle: a decision that finds it so takes a fresh subject instead.</summary>
        public bool Forgotten { get; set; }
        public long LongestWindowMs { get; private set; } = 60_000;
        public IEnumerable<Window> Windows => _windows.Values;

        public Window Get(RateLimitRule rule)
        {
            var key = (rule.Name, rule.Limit, rule.Window.Ticks);
            if (!_windows.TryGetValue(key, out var window))
            {
                window = new Window(this, rule.Name, rule.Limit, WindowMilliseconds(rule));
                _windows[key] = window;
                LongestWindowMs = Math.Max(LongestWindowMs, window.WindowMs);
            }

            return window;
        }

        public Window[] Scratch(int count)
        {
            if (_scratch.Length < count)
            {
                _scratch = new Window[Math.Max(4, count)];
            }

            return _scratch;
        }
    }

    /// <summary>
    /// This node's view of one window: the shared totals read last (<see cref="KnownPrevious"/>,
    /// <see cref="KnownCurrent"/>) and the units this node admitted that the shared row may not
    /// hold yet (<see cref="Pending"/>, not sent; <see cref="InFlight"/>, sent, not yet confirmed).
    /// </summary>
    private sealed class Window(Subject owner, string rule, long limit, long windowMs)
    {
        public Subject Owner { get; } = owner;
        public string Rule { get; } = rule;
        public long Limit { get; } = limit;
        public long WindowMs { get; } = windowMs;
        public long IntervalStart { get; private set; } = long.MinValue;
        public long KnownPrevious { get; private set; }
        public long KnownCurrent { get; private set; }
        public long Pending { get; set; }
        public long InFlight { get; private set; }

        /// <summary>Nearly spent: decided by the shared rows until the interval ends.</summary>
        public bool Exact { get; set; }

        /// <summary>Used since the last flush, so the flush reads its totals back.</summary>
        public bool Dirty { get; set; }

        public long Unreported => Pending + InFlight;

        public long Seen(long nowMs) => SlidingCount(KnownPrevious, KnownCurrent + Unreported, IntervalStart, nowMs, WindowMs);

        /// <summary>Moves to the interval holding <paramref name="nowMs"/>; the old interval's unsent units are reported first.</summary>
        public void Roll(long nowMs, List<Report> reports)
        {
            var start = PostgresCounterStore.IntervalStart(nowMs, WindowMs);
            if (start == IntervalStart)
            {
                return;
            }

            if (Pending > 0)
            {
                reports.Add(new Report(this, IntervalStart, Pending));
            }

            KnownPrevious = start - IntervalStart == WindowMs ? KnownCurrent + Pending + InFlight : 0;
            (KnownCurrent, Pending, InFlight, Exact, IntervalStart) = (0, 0, 0, false, start);
        }

        /// <summary>Hands the unsent units of the current interval to a report.</summary>
        public void Report(List<Report> reports, bool evenIfNothing = false)
        {
            if ((Pending > 0 || evenIfNothing) && IntervalStart != long.MinValue)
            {
                reports.Add(new Report(this, IntervalStart, Pending));
                InFlight += Pending;
                Pending = 0;
            }
        }

        public void Reported(long intervalStart, long amount)
        {
            if (intervalStart == IntervalStart)
            {
                InFlight = Math.Max(0, InFlight - amount);
            }
        }

        public void Unreport(long intervalStart, long amount)
        {
            if (intervalStart == IntervalStart)
            {
                InFlight = Math.Max(0, InFlight - amount);
                Pending += amount;
            }
        }

        /// <summary>Totals only grow within an interval, so the larger of two reads is the newer.</summary>
        public void Learn(long intervalStart, long previous, long current)
        {
            if (intervalStart == IntervalStart)
            {
                KnownPrevious = Math.Max(KnownPrevious, previous);
                KnownCurrent = Math.Max(KnownCurrent, current);
            }
        }
    }
}
