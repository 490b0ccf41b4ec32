using Gatehouse.Contracts.Gateways;

namespace Gatehouse.Client;

/// <summary>
/// Network gateways, the networks behind them and access rules (API.md §10, snake_case on the wire):
/// the administrators' routes (<c>gateways:write</c>) and the gateways a user may connect to
/// (<c>gateways:read</c>). A gateway's agent calls its own routes with <see cref="GatewayAgentClient"/>.
/// </summary>
public sealed class GatewaysClient
{
    private readonly GatehouseTransport _transport;

    internal GatewaysClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>The gateways the caller may connect to (a user: those its access rules allow; an administrator: all).</summary>
    public Task<Page<AvailableGatewayView>> ListAvailableAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<AvailableGatewayView>(Segment.Org(orgId) + "/gateways", query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    /// <summary>Registers a gateway; the answer's <see cref="GatewayWithToken.Token"/> is shown this once.</summary>
    public Task<GatewayWithToken> CreateAsync(string orgId, CreateGatewayRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<GatewayWithToken>(HttpMethod.Post, GatewaysPath(orgId), request, options, cancellationToken);

    public Task<Page<GatewayView>> ListAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<GatewayView>(GatewaysPath(orgId), query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    public Task<GatewayView> GetAsync(string orgId, string gatewayId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<GatewayView>(HttpMethod.Get, GatewaysPath(orgId, gatewayId), null, options, cancellationToken);

    public Task<GatewayView> UpdateAsync(string orgId, string gatewayId, UpdateGatewayRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<GatewayView>(HttpMethod.Put, GatewaysPath(orgId, gatewayId), request, options, cancellationToken);

    /// <summary>Deletes a gateway (its token stops working); answers the deleted gateway.</summary>
    public Task<GatewayView> DeleteAsync(string orgId, string gatewayId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<GatewayView>(HttpMethod.Delete, GatewaysPath(orgId, gatewayId), null, options, cancellationToken);

    /// <summary>Replaces the gateway's agent token: the new one is shown this once, the old one stops at once.</summary>
    public Task<GatewayWithToken> RotateTokenAsync(string orgId, string gatewayId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<GatewayWithToken>(HttpMethod.Post, GatewaysPath(orgId, gatewayId) + "/rotate-token", null, options, cancellationToken);

    /// <summary>Creates a network (CIDRs never overlap within an organization).</summary>
    public Task<NetworkView> CreateNetworkAsync(string orgId, NetworkRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<NetworkView>(HttpMethod.Post, NetworksPath(orgId), request, options, cancellationToken);

    public Task<Page<NetworkView>> ListNetworksAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<NetworkView>(NetworksPath(orgId), query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    public Task<NetworkView> GetNetworkAsync(string orgId, string networkId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<NetworkView>(HttpMethod.Get, NetworksPath(orgId, networkId), null, options, cancellationToken);

    /// <summary>Replaces a network.</summary>
    public Task<NetworkView> UpdateNetworkAsync(string orgId, string networkId, NetworkRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<NetworkView>(HttpMethod.Put, NetworksPath(orgId, networkId), request, options, cancellationToken);

    /// <summary>Deletes a network no access rule targets; answers the deleted network.</summary>
    public Task<NetworkView> DeleteNetworkAsync(string orgId, string networkId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<NetworkView>(HttpMethod.Delete, NetworksPath(orgId, networkId), null, options, cancellationToken);

    public Task<AccessRuleView> CreateAccessRuleAsync(string orgId, AccessRuleRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<AccessRuleView>(HttpMethod.Post, RulesPath(orgId), request, options, cancellationToken);

    public Task<Page<AccessRuleView>> ListAccessRulesAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<AccessRuleView>(RulesPath(orgId), query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    public Task<AccessRuleView> GetAccessRuleAsync(string orgId, string accessRuleId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<AccessRuleView>(HttpMethod.Get, RulesPath(orgId, accessRuleId), null, options, cancellationToken);

    /// <summary>Replaces an access rule.</summary>
    public Task<AccessRuleView> UpdateAccessRuleAsync(string orgId, string accessRuleId, AccessRuleRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<AccessRuleView>(HttpMethod.Put, RulesPath(orgId, accessRuleId), request, options, cancellationToken);

    public Task<AccessRuleView> DeleteAccessRuleAsync(string orgId, string accessRuleId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Send<AccessRuleView>(HttpMethod.Delete, RulesPath(orgId, accessRuleId), null, options, cancellationToken);

    private Task<T> Send<T>(HttpMethod method, string path, object? body, RequestOptions? options, CancellationToken cancellationToken) =>
        SnakeCaseCalls.Send<T>(_transport, method, path, body, options, cancellationToken);

    private static string GatewaysPath(string orgId, string? id = null) => Under(orgId, "gateways", id);

    private static string NetworksPath(string orgId, string? id = null) => Under(orgId, "networks", id);

    private static string RulesPath(string orgId, string? id = null) => Under(orgId, "access-rules", id);

    private static string Under(string orgId, string collection, string? id) =>
        Segment.Org(orgId) + "/admin/" + collection + (id is null ? "" : "/" + Segment.Of(id));
}
