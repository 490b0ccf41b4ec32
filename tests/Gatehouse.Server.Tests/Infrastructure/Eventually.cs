using System.Diagnostics;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>
/// Waits on real time for something the server does in the background (a delivery, a re-encryption,
/// a process becoming healthy). It asks again with a short, growing pause, gives up only after a
/// generous timeout (the machine running the suite may be busy), and then fails naming what it
/// waited for and what it saw last, so a slow machine and a real defect read differently.
/// </summary>
public static class Eventually
{
    /// <summary>Long enough for a loaded two-core machine; a passing wait returns as soon as it holds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Asks <paramref name="probe"/> until <paramref name="until"/> holds for its answer, and returns
    /// that answer. <paramref name="because"/> says what is awaited (it reads after "waited … for");
    /// <paramref name="describe"/> shows the last answer in the failure (ToString by default);
    /// <paramref name="timeout"/> is <see cref="DefaultTimeout"/> unless given.
    /// </summary>
    public static async Task<T> ValueAsync<T>(
        Func<Task<T>> probe, Func<T, bool> until, string because, TimeSpan? timeout = null, Func<T, string>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var cancellation = TestContext.Current.CancellationToken;
        var elapsed = Stopwatch.StartNew();
        var pause = FirstPause;
        while (true)
        {
            var value = await probe();
            if (until(value))
            {
                return value;
            }

            if (elapsed.Elapsed >= limit)
            {
                var last = describe is null ? value?.ToString() ?? "null" : describe(value);
                throw new TimeoutException($"Waited {limit.TotalSeconds:0.#} s for {because}; last observed: {last}");
            }

            await Task.Delay(pause, cancellation);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
        }
    }

    /// <summary>Asks <paramref name="condition"/> until it is true.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null) =>
        ValueAsync(condition, holds => holds, because, timeout);

    /// <summary>Asks <paramref name="condition"/> (something already at hand, e.g. a counter) until it is true.</summary>
    public static Task TrueAsync(Func<bool> condition, string because, TimeSpan? timeout = null) =>
        ValueAsync(() => Task.FromResult(condition()), holds => holds, because, timeout);
}
