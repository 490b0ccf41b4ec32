using Gatehouse.Contracts.Jobs;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/admin/jobs</c> (root): background jobs, manual runs and their progress.</summary>
public sealed class JobsClient
{
    private readonly GatehouseTransport _transport;

    internal JobsClient(GatehouseTransport transport) => _transport = transport;

    public Task<IReadOnlyList<JobView>> ListAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<JobView>>(HttpMethod.Get, "admin/jobs", null, options, cancellationToken);

    /// <summary>Runs a job now (the server answers 202 with the run's id; 409 while it already runs).</summary>
    public Task<TriggerJobResponse> TriggerAsync(string job, string? orgId = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<TriggerJobResponse>(HttpMethod.Post, "admin/jobs/trigger", new TriggerJobRequest { Job = job, OrgId = orgId }, options, cancellationToken);

    /// <summary>One run, with <c>progress {done, total}</c> for long jobs.</summary>
    public Task<JobRunView> GetRunAsync(string runId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<JobRunView>(HttpMethod.Get, "admin/jobs/runs/" + Segment.Of(runId), null, options, cancellationToken);

    public Task<JobStats> GetStatsAsync(string jobName, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<JobStats>(HttpMethod.Get, "admin/jobs/" + Segment.Of(jobName) + "/stats", null, options, cancellationToken);
}
