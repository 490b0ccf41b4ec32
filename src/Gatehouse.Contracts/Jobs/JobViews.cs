namespace Gatehouse.Contracts.Jobs;

/// <summary>A background job: what it does, when it runs, and what it last did.</summary>
/// <param name="Name">The job's name (what a trigger names).</param>
/// <param name="Description">What one pass does.</param>
/// <param name="Schedule">Time between scheduled passes, as an ISO-8601 duration (<c>PT30S</c>).</param>
/// <param name="IntervalSeconds">The same interval in seconds.</param>
/// <param name="Placement"><c>one-node</c>: one node at a time under a lease; <c>every-node</c>: each node runs it on its own work.</param>
/// <param name="State"><c>running</c>, <c>idle</c>, <c>failing</c> (its last three passes on this node failed) or <c>unscheduled</c> (switched off on this node; manual runs still work).</param>
/// <param name="LastRun">The newest recorded run of any node, or null.</param>
/// <param name="NextRunAt">When this node's next scheduled pass is due, or null.</param>
/// <param name="Running">A pass runs now, on this node or (for a one-node job) on another.</param>
public sealed record JobView(string Name, string Description, string Schedule, long IntervalSeconds, string Placement, string State, JobRunSummary? LastRun, DateTime? NextRunAt, bool Running);

/// <summary>When a recorded run started and ended, how it ended, and on which node.</summary>
/// <param name="StartedAt">When the pass began.</param>
/// <param name="FinishedAt">When it ended; null while it runs.</param>
/// <param name="Ok">Whether it succeeded; null while it runs.</param>
/// <param name="Error">A one-line message when the run failed; never a stack trace.</param>
/// <param name="Node">The node that ran it: machine name and process id.</param>
public sealed record JobRunSummary(DateTime StartedAt, DateTime? FinishedAt, bool? Ok, string? Error, string Node);

/// <summary>A job's recorded history (kept for the retention period) and its state on this node.</summary>
/// <param name="Runs">Recorded runs of the job (manual ones, failed ones and those that did work).</param>
/// <param name="Failures">Recorded runs that failed.</param>
/// <param name="LastRun">The newest recorded run of any node, or null.</param>
/// <param name="QueueDepth">Work waiting, as this node's last pass counted it.</param>
/// <param name="NextRunAt">When this node's next scheduled pass is due, or null.</param>
public sealed record JobStats(long Runs, long Failures, JobRunSummary? LastRun, long QueueDepth, DateTime? NextRunAt);

/// <summary>One recorded run of a job.</summary>
/// <param name="Id">The run's id (<c>jrn_…</c>).</param>
/// <param name="Job">The job's name.</param>
/// <param name="OrgId">The organization a manual run was limited to, or null.</param>
/// <param name="Trigger"><c>schedule</c> or <c>manual</c>.</param>
/// <param name="State"><c>running</c> (or waiting for the job to be free), <c>succeeded</c> or <c>failed</c>.</param>
/// <param name="StartedAt">When the pass began (when it was accepted, until it begins).</param>
/// <param name="FinishedAt">When it ended; null while it runs.</param>
/// <param name="Ok">Whether it succeeded; null while it runs.</param>
/// <param name="Error">A one-line message when the run failed; never a stack trace.</param>
/// <param name="Node">The node running it: machine name and process id.</param>
/// <param name="Progress">Items done of the total, for jobs that report progress (null otherwise).</param>
public sealed record JobRunView(string Id, string Job, string? OrgId, string Trigger, string State, DateTime StartedAt, DateTime? FinishedAt, bool? Ok, string? Error, string Node, JobProgressView? Progress);

/// <summary>Progress of a long run.</summary>
public sealed record JobProgressView(long Done, long Total);

/// <summary>Run a job now.</summary>
public sealed record TriggerJobRequest
{
    /// <summary>The job's name, as <c>GET /api/v1/admin/jobs</c> lists it.</summary>
    public string? Job { get; init; }

    /// <summary>Limit the run to one organization (only for jobs that accept it: <c>dek-reencrypt</c>).</summary>
    public string? OrgId { get; init; }
}

/// <summary>The accepted run; poll <c>GET /api/v1/admin/jobs/runs/{runId}</c>.</summary>
public sealed record TriggerJobResponse(string RunId);
