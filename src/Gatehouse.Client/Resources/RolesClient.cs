using Gatehouse.Contracts;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Contracts.Roles;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/roles</c>: named sets of permissions that keys and users take by name.</summary>
public sealed class RolesClient
{
    private readonly GatehouseTransport _transport;

    internal RolesClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/roles";

    private static string Path(string orgId, string roleId) => Path(orgId) + "/" + Segment.Of(roleId);

    public Task<RoleView> CreateAsync(string orgId, CreateRoleRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RoleView>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    public Task<Page<RoleView>> ListAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<RoleView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<RoleView> ListAllAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<RoleView, ListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new ListQuery(), cancellationToken);

    public Task<RoleView> GetAsync(string orgId, string roleId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RoleView>(HttpMethod.Get, Path(orgId, roleId), null, options, cancellationToken);

    public Task<RoleView> UpdateAsync(string orgId, string roleId, UpdateRoleRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RoleView>(HttpMethod.Patch, Path(orgId, roleId), request, options, cancellationToken);

    public Task<Deleted> DeleteAsync(string orgId, string roleId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, roleId), null, options, cancellationToken);
}

/// <summary><c>/api/v1/permissions</c>: the platform's permission catalog.</summary>
public sealed class PermissionsClient
{
    private readonly GatehouseTransport _transport;

    internal PermissionsClient(GatehouseTransport transport) => _transport = transport;

    public Task<IReadOnlyList<PermissionInfo>> ListAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<PermissionInfo>>(HttpMethod.Get, "permissions", null, options, cancellationToken);
}
