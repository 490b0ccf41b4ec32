using System.Text.Json;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Orgs;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs</c>: organizations (create is root only).</summary>
public sealed class OrganizationsClient
{
    private readonly GatehouseTransport _transport;

    internal OrganizationsClient(GatehouseTransport transport) => _transport = transport;

    public Task<OrgView> CreateAsync(CreateOrgRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OrgView>(HttpMethod.Post, "orgs", request, options, cancellationToken);

    /// <summary>Root: every organization; any other credential: its own.</summary>
    public Task<Page<OrgView>> ListAsync(OrgListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<OrgView>("orgs", query, options, cancellationToken);

    public IAsyncEnumerable<OrgView> ListAllAsync(OrgListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<OrgView, OrgListQuery>((q, ct) => ListAsync(q, options, ct), query ?? new OrgListQuery(), cancellationToken);

    public Task<OrgView> GetAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OrgView>(HttpMethod.Get, Segment.Org(orgId), null, options, cancellationToken);

    public Task<OrgView> UpdateAsync(string orgId, UpdateOrgRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OrgView>(HttpMethod.Patch, Segment.Org(orgId), request, options, cancellationToken);

    /// <summary>Deletes the organization and destroys its data keys: its encrypted data becomes unreadable.</summary>
    public Task<Deleted> DeleteAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Segment.Org(orgId), null, options, cancellationToken);

    /// <summary>Counts of keys, credentials and clients, and verifications by outcome over the last 24 h.</summary>
    public Task<IReadOnlyDictionary<string, JsonElement>> GetStatsAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyDictionary<string, JsonElement>>(HttpMethod.Get, Segment.Org(orgId) + "/stats", null, options, cancellationToken);
}

/// <summary><c>/api/v1/admin/tenants</c>: root's view of an organization by id or slug.</summary>
public sealed class TenantsClient
{
    private readonly GatehouseTransport _transport;

    internal TenantsClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string tenantId) => "admin/tenants/" + Segment.Of(tenantId);

    public Task<OrgView> GetAsync(string tenantId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OrgView>(HttpMethod.Get, Path(tenantId), null, options, cancellationToken);

    public Task<OrgView> UpdateAsync(string tenantId, UpdateOrgRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OrgView>(HttpMethod.Patch, Path(tenantId), request, options, cancellationToken);

    public Task<Deleted> DeleteAsync(string tenantId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(tenantId), null, options, cancellationToken);

    public Task<IReadOnlyDictionary<string, JsonElement>> GetStatsAsync(string tenantId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyDictionary<string, JsonElement>>(HttpMethod.Get, Path(tenantId) + "/stats", null, options, cancellationToken);
}
