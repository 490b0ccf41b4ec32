using System.Collections.Concurrent;

namespace Gatehouse.Server.Platform.RateLimiting;

/// <summary>
/// Sliding-window counters in memory, for one node.
///
/// Each window keeps the count of the current fixed interval and of the one before; the sliding
/// count at time t is <c>previous × (1 − elapsed/window) + current</c>. That weighs the previous
/// interval by how much of it still lies inside the sliding window, so a client cannot spend a
/// whole limit at the end of one interval and again at the start of the next (the double burst of
/// fixed windows). Memory is two counters per window per subject; idle subjects are swept.
/// </summary>
public sealed class InMemoryCounterStore : IRateLimitCounterStore
{
    private readonly ConcurrentDictionary<string, Subject> _subjects = new(StringComparer.Ordinal);
    private long _lastSweepTicks;

    // The windows of the decision in progress: used only under a subject's lock, without awaiting,
    // so one array per thread serves every decision (it was an allocation per request).
    [ThreadStatic]
    private static Window[]? t_windows;

    public ValueTask<RateLimitDecision> TryConsumeAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, DateTimeOffset now, bool consume, CancellationToken cancellationToken)
    {
        SweepIfDue(now);
        var state = _subjects.GetOrAdd(subject, _ => new Subject());
        lock (state)
        {
            state.LastUsed = now;
            var verdicts = new WindowVerdict[rules.Count];
            var allowed = true;
            var windows = t_windows is { } scratch && scratch.Length >= rules.Count ? scratch : t_windows = new Window[Math.Max(4, rules.Count)];
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i];
                var window = state.Get(rule);
                window.Roll(now, rule.Window);
                windows[i] = window;
                var used = window.SlidingCount(now, rule.Window);
                if (used + cost > rule.Limit)
                {
                    allowed = false;
                }
            }

            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i];
                var window = windows[i];
                if (allowed && consume)
                {
                    window.Current += cost;
                }

                var used = window.SlidingCount(now, rule.Window);
                var remaining = Math.Max(0, rule.Limit - used);
                var exceeded = !allowed && used + cost > rule.Limit;
                verdicts[i] = new WindowVerdict(rule, remaining, window.ResetAt(now, rule, cost), exceeded);
            }

            Array.Clear(windows, 0, rules.Count);
            return ValueTask.FromResult(new RateLimitDecision(allowed, verdicts));
        }
    }

    /// <summary>Forgets subjects idle for over a day (the longest default window), at most once a minute.</summary>
    private void SweepIfDue(DateTimeOffset now)
    {
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now.UtcTicks - last < TimeSpan.TicksPerMinute || Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (key, subject) in _subjects)
        {
            if (now - subject.LastUsed > subject.LongestWindow * 2)
            {
                _subjects.TryRemove(key, out _);
            }
        }
    }

    private sealed class Subject
    {
        private readonly Dictionary<(string, long, long), Window> _windows = [];

        public DateTimeOffset LastUsed { get; set; }
        public TimeSpan LongestWindow { get; private set; } = TimeSpan.FromMinutes(1);

        public Window Get(RateLimitRule rule)
        {
            var key = (rule.Name, rule.Limit, rule.Window.Ticks);
            if (!_windows.TryGetValue(key, out var window))
            {
                window = new Window();
                _windows[key] = window;
                if (rule.Window > LongestWindow)
                {
                    LongestWindow = rule.Window;
                }
            }

            return window;
        }
    }

    private sealed class Window
    {
        public long IntervalStartTicks { get; private set; } = long.MinValue;
        public long Previous { get; private set; }
        public long Current { get; set; }

        /// <summary>Moves to the interval that holds <paramref name="now"/>, keeping the last one as "previous".</summary>
        public void Roll(DateTimeOffset now, TimeSpan length)
        {
            var start = now.UtcTicks - now.UtcTicks % length.Ticks;
            if (start == IntervalStartTicks)
            {
                return;
            }

            Previous = start - IntervalStartTicks == length.Ticks ? Current : 0;
            Current = 0;
            IntervalStartTicks = start;
        }

        public long SlidingCount(DateTimeOffset now, TimeSpan length)
        {
            var elapsed = (double)(now.UtcTicks - IntervalStartTicks) / length.Ticks;
            // Ceiling: the weighted share of the previous interval is never rounded in the client's favour.
            return (long)Math.Ceiling(Previous * (1 - elapsed)) + Current;
        }

        /// <summary>
        /// When a request of <paramref name="cost"/> fits again: at the latest, when the current
        /// interval becomes the previous one and has fully slid out — we report the end of the
        /// current interval when the previous interval's weight alone would free enough room,
        /// otherwise the end of the next one.
        /// </summary>
        public DateTimeOffset ResetAt(DateTimeOffset now, RateLimitRule rule, long cost)
        {
            var intervalEnd = new DateTimeOffset(IntervalStartTicks + rule.Window.Ticks, TimeSpan.Zero);
            if (Current + cost <= rule.Limit)
            {
                // Room appears as the previous interval slides out; it is certain by the interval's end.
                return intervalEnd;
            }

            return intervalEnd + rule.Window;
        }
    }
}
