namespace Gatehouse.Server.Platform.RateLimiting;

/// <summary>One window of a limit: at most <see cref="Limit"/> units per <see cref="Window"/>.</summary>
public sealed record RateLimitRule(string Name, long Limit, TimeSpan Window);

/// <summary>The state of one window after a decision.</summary>
public sealed record WindowVerdict(RateLimitRule Rule, long Remaining, DateTimeOffset ResetAt, bool Exceeded);

/// <summary>
/// The outcome of asking for <c>cost</c> units against every window of a subject. When any window
/// would go over, nothing is consumed in any window (a rejected request does no work).
/// </summary>
public sealed record RateLimitDecision(bool Allowed, IReadOnlyList<WindowVerdict> Windows)
{
    /// <summary>The window closest to exhaustion: the one whose headers a response carries.</summary>
    public WindowVerdict Tightest
    {
        get
        {
            // A loop, not LINQ ordering: this runs on every limited request.
            var best = Windows[0];
            for (var i = 1; i < Windows.Count; i++)
            {
                var w = Windows[i];
                if ((w.Exceeded && !best.Exceeded)
                    || (w.Exceeded == best.Exceeded && (w.Remaining < best.Remaining || (w.Remaining == best.Remaining && w.ResetAt > best.ResetAt))))
                {
                    best = w;
                }
            }

            return best;
        }
    }

    /// <summary>How long until a retry can succeed: the latest reset among the exceeded windows.</summary>
    public TimeSpan RetryAfter(DateTimeOffset now)
    {
        var exceeded = Windows.Where(w => w.Exceeded).ToList();
        return exceeded.Count == 0 ? TimeSpan.Zero : exceeded.Max(w => w.ResetAt) - now;
    }
}

/// <summary>
/// Where window counters live: in this process for one node (SQLite); shared in PostgreSQL when
/// several nodes may share the database. The only interface of the limiter, so the store can change without touching callers.
/// </summary>
public interface IRateLimitCounterStore
{
    /// <summary>
    /// Atomically: for the subject, read each rule's sliding-window count at <paramref name="now"/>;
    /// if every window has room for <paramref name="cost"/>, add it to all of them — unless
    /// <paramref name="consume"/> is false: then the answer is the same and nothing is added.
    /// </summary>
    ValueTask<RateLimitDecision> TryConsumeAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, DateTimeOffset now, bool consume, CancellationToken cancellationToken);

    /// <summary>
    /// Consumes like <see cref="TryConsumeAsync"/>, but a shared store may decide from this node's
    /// view of the counts and reconcile later, within the bound of docs/rate-limits.md (several
    /// nodes). For the hottest callers; a store that is exact and cheap anyway simply is exact.
    /// </summary>
    ValueTask<RateLimitDecision> TryConsumeFastAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, DateTimeOffset now, CancellationToken cancellationToken) =>
        TryConsumeAsync(subject, rules, cost, now, consume: true, cancellationToken);
}

/// <summary>The one rate limiter of the platform: policies, verify and the standalone API all call it.</summary>
public sealed class RateLimiter(IRateLimitCounterStore store, TimeProvider clock)
{
    public ValueTask<RateLimitDecision> TryConsumeAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost = 1, CancellationToken cancellationToken = default)
    {
        if (rules.Count == 0)
        {
            return ValueTask.FromResult(new RateLimitDecision(true, []));
        }

        return store.TryConsumeAsync(subject, rules, cost, clock.GetUtcNow(), consume: true, cancellationToken);
    }

    /// <summary>
    /// <see cref="TryConsumeAsync"/> for the verify path: across nodes it counts locally and
    /// reconciles with the shared counters every flush, asking them on each request only when a
    /// window is nearly spent (docs/rate-limits.md, "Several nodes").
    /// </summary>
    public ValueTask<RateLimitDecision> TryConsumeFastAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost = 1, CancellationToken cancellationToken = default)
    {
        if (rules.Count == 0)
        {
            return ValueTask.FromResult(new RateLimitDecision(true, []));
        }

        return store.TryConsumeFastAsync(subject, rules, cost, clock.GetUtcNow(), cancellationToken);
    }

    /// <summary>Whether <paramref name="cost"/> units would fit, and each window's state, without spending anything.</summary>
    public ValueTask<RateLimitDecision> PeekAsync(string subject, IReadOnlyList<RateLimitRule> rules, long cost, CancellationToken cancellationToken = default)
    {
        if (rules.Count == 0)
        {
            return ValueTask.FromResult(new RateLimitDecision(true, []));
        }

        return store.TryConsumeAsync(subject, rules, cost, clock.GetUtcNow(), consume: false, cancellationToken);
    }

    public DateTimeOffset Now => clock.GetUtcNow();
}
