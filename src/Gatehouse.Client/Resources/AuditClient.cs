using Gatehouse.Contracts.Audit;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/audit-logs</c> and root's <c>/api/v1/admin/audit-logs</c>: query, export, verify the chain.</summary>
public sealed class AuditClient
{
    private readonly GatehouseTransport _transport;

    internal AuditClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/audit-logs";

    public Task<Page<AuditEventView>> ListAsync(string orgId, AuditLogQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<AuditEventView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<AuditEventView> ListAllAsync(string orgId, AuditLogQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<AuditEventView, AuditLogQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new AuditLogQuery(), cancellationToken);

    /// <summary>Every matching event in one streamed response (NDJSON), read as it arrives: for archiving.</summary>
    public IAsyncEnumerable<AuditEventView> ExportAsync(string orgId, AuditLogQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.StreamLinesAsync<AuditEventView>(Path(orgId) + (query ?? new AuditLogQuery()).ToQueryString(), options, cancellationToken);

    /// <summary>Recomputes the organization's hash chain: <see cref="AuditVerification.Valid"/> false means an event was edited or removed.</summary>
    public Task<AuditVerification> VerifyChainAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<AuditVerification>(HttpMethod.Get, Path(orgId) + "/verify", null, options, cancellationToken);

    /// <summary>Root: events of every organization (<see cref="AuditLogQuery.OrgId"/> narrows to one).</summary>
    public Task<Page<AuditEventView>> ListPlatformAsync(AuditLogQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<AuditEventView>("admin/audit-logs", query, options, cancellationToken);

    /// <summary>Root: verifies any chain, including <c>platform</c> (events of no organization) when <paramref name="orgId"/> is null.</summary>
    public Task<AuditVerification> VerifyPlatformChainAsync(string? orgId = null, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        query.Add("orgId", orgId);
        return _transport.SendAsync<AuditVerification>(HttpMethod.Get, "admin/audit-logs/verify" + query, null, options, cancellationToken);
    }
}
