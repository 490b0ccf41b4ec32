namespace Gatehouse.Server.Platform.Jobs;

/// <summary>What a background job last did.</summary>
public sealed record JobState(long Runs, long Failures, int ConsecutiveFailures, DateTime? LastRunAt, DateTime? LastSuccessAt, long QueueDepth);

/// <summary>Where background jobs (refill, re-encryption, webhook delivery, pruning) report their runs.</summary>
public sealed class JobRegistry
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, JobState> _jobs = new(StringComparer.Ordinal);

    public void Register(string name) => _jobs.TryAdd(name, new JobState(0, 0, 0, null, null, 0));

    public void ReportRun(string name, bool succeeded, DateTime at, long queueDepth = 0) =>
        _jobs.AddOrUpdate(name,
            _ => new JobState(1, succeeded ? 0 : 1, succeeded ? 0 : 1, at, succeeded ? at : null, queueDepth),
            (_, s) => new JobState(s.Runs + 1, s.Failures + (succeeded ? 0 : 1), succeeded ? 0 : s.ConsecutiveFailures + 1, at, succeeded ? at : s.LastSuccessAt, queueDepth));

    public IReadOnlyDictionary<string, JobState> Snapshot() => new SortedDictionary<string, JobState>(_jobs, StringComparer.Ordinal);
}
