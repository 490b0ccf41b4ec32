namespace Gatehouse.Server.Platform.Jobs;

/// <summary>What a background job last did on this node.</summary>
public sealed record JobState(long Runs, long Failures, int ConsecutiveFailures, DateTime? LastRunAt, DateTime? LastSuccessAt, long QueueDepth);

/// <summary>
/// This node's view of its background jobs: what each last did (the admin health report), which
/// is running now and when its next scheduled pass is due. The recorded history of every node is
/// in the <c>job_runs</c> table.
/// </summary>
public sealed class JobRegistry
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, JobState> _jobs = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> _nextRuns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pending = new(StringComparer.Ordinal);

    public void Register(string name) => _jobs.TryAdd(name, new JobState(0, 0, 0, null, null, 0));

    public void ReportRun(string name, bool succeeded, DateTime at, long queueDepth = 0) =>
        _jobs.AddOrUpdate(name,
            _ => new JobState(1, succeeded ? 0 : 1, succeeded ? 0 : 1, at, succeeded ? at : null, queueDepth),
            (_, s) => new JobState(s.Runs + 1, s.Failures + (succeeded ? 0 : 1), succeeded ? 0 : s.ConsecutiveFailures + 1, at, succeeded ? at : s.LastSuccessAt, queueDepth));

    public IReadOnlyDictionary<string, JobState> Snapshot() => new SortedDictionary<string, JobState>(_jobs, StringComparer.Ordinal);

    public JobState? Find(string name) => _jobs.TryGetValue(name, out var state) ? state : null;

    /// <summary>When the job's loop on this node runs its next pass (null: it has no schedule here).</summary>
    public void ScheduleNext(string name, DateTime? at)
    {
        if (at is { } next)
        {
            _nextRuns[name] = next;
        }
        else
        {
            _nextRuns.TryRemove(name, out _);
        }
    }

    public DateTime? NextRunAt(string name) => _nextRuns.TryGetValue(name, out var at) ? at : null;

    /// <summary>
    /// Accepts a manual run of the job on this node (<paramref name="runId"/>: its recorded run), unless
    /// one is already waiting or the job is running here: then false, with that run's id (null for an
    /// unrecorded scheduled pass).
    /// </summary>
    public bool TryAcceptManual(string name, string runId, out string? existingRunId)
    {
        lock (_running)
        {
            if (_pending.TryGetValue(name, out existingRunId) || _running.TryGetValue(name, out existingRunId))
            {
                return false;
            }

            _pending[name] = runId;
            existingRunId = null;
            return true;
        }
    }

    /// <summary>Whether a manual run of the job waits to start on this node.</summary>
    public bool HasPending(string name)
    {
        lock (_running)
        {
            return _pending.ContainsKey(name);
        }
    }

    /// <summary>The pass (<paramref name="runId"/>: its recorded run, if any) starts on this node.</summary>
    public void MarkRunning(string name, string? runId)
    {
        lock (_running)
        {
            if (runId is not null && _pending.TryGetValue(name, out var pending) && pending == runId)
            {
                _pending.Remove(name);
            }

            _running[name] = runId;
        }
    }

    /// <summary>The pass ended; <paramref name="runId"/> also withdraws a manual run that never started.</summary>
    public void MarkStopped(string name, string? runId = null)
    {
        lock (_running)
        {
            _running.Remove(name);
            if (runId is not null && _pending.TryGetValue(name, out var pending) && pending == runId)
            {
                _pending.Remove(name);
            }
        }
    }

    /// <summary>Whether the job runs on this node now, and the id of its recorded run if it has one.</summary>
    public bool IsRunning(string name, out string? runId)
    {
        lock (_running)
        {
            return _running.TryGetValue(name, out runId);
        }
    }
}
