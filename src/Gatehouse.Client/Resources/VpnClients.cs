using System.Text;
using Gatehouse.Contracts.Gateways;

namespace Gatehouse.Client;

/// <summary>
/// OpenVPN and WireGuard configs (API.md §10, snake_case on the wire): generated for a user, downloaded
/// once (the keys are made then and never stored), listed and revoked.
/// </summary>
public sealed class VpnConfigsClient
{
    private readonly GatehouseTransport _transport;

    internal VpnConfigsClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>A config for a gateway: a user session for itself, or a key with <c>configs:write</c> naming <c>user_id</c>. Download it once before it expires.</summary>
    public Task<GeneratedConfigView> GenerateAsync(string orgId, GenerateConfigRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<GeneratedConfigView>(_transport, HttpMethod.Post, Segment.Org(orgId) + "/configs/generate", request, options, cancellationToken);

    /// <summary>The config file (an OpenVPN profile or a WireGuard config), once.</summary>
    public async Task<string> DownloadAsync(string orgId, string configId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(await _transport.SendForBytesAsync(Segment.Org(orgId) + "/configs/download/" + Segment.Of(configId), "*/*", options, cancellationToken));

    /// <summary>The caller's own configs (with <c>configs:read</c>: every config).</summary>
    public Task<Page<VpnConfigView>> ListOwnAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<VpnConfigView>(Segment.Org(orgId) + "/configs", query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    /// <summary>Revokes one's own config: its certificate (with a new CRL) or WireGuard peer stops passing verify.</summary>
    public Task<VpnConfigView> DeleteOwnAsync(string orgId, string configId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<VpnConfigView>(_transport, HttpMethod.Delete, Segment.Org(orgId) + "/configs/" + Segment.Of(configId), null, options, cancellationToken);

    /// <summary>Every config of the organization (<c>configs:read</c>), filtered by user or gateway.</summary>
    public Task<Page<VpnConfigView>> ListAsync(string orgId, VpnConfigListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<VpnConfigView>(Segment.Org(orgId) + "/admin/configs", query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    /// <summary>Revokes any config of the organization (<c>gateways:write</c>).</summary>
    public Task<VpnConfigView> RevokeAsync(string orgId, string configId, RevokeConfigRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<VpnConfigView>(_transport, HttpMethod.Post, Segment.Org(orgId) + "/admin/configs/" + Segment.Of(configId) + "/revoke", request ?? new RevokeConfigRequest(), options, cancellationToken);

    public Task<ConfigSettingsView> GetSettingsAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<ConfigSettingsView>(_transport, HttpMethod.Get, Segment.Org(orgId) + "/admin/configs/settings", null, options, cancellationToken);

    /// <summary>Requires (or not) device-verified sessions for new configs.</summary>
    public Task<ConfigSettingsView> PutSettingsAsync(string orgId, ConfigSettingsRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<ConfigSettingsView>(_transport, HttpMethod.Put, Segment.Org(orgId) + "/admin/configs/settings", request, options, cancellationToken);
}

/// <summary>Mesh hubs: WireGuard gateways joining networks site to site (<c>gateways:write</c>; the list of reachable hubs with <c>gateways:read</c>).</summary>
public sealed class MeshHubsClient
{
    private readonly GatehouseTransport _transport;

    internal MeshHubsClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>The hubs the caller may reach.</summary>
    public Task<Page<MeshHubView>> ListAvailableAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<MeshHubView>(Segment.Org(orgId) + "/mesh/hubs", query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    public Task<MeshHubView> CreateAsync(string orgId, MeshHubRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<MeshHubView>(_transport, HttpMethod.Post, HubsPath(orgId), request, options, cancellationToken);

    public Task<Page<MeshHubView>> ListAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<MeshHubView>(HubsPath(orgId), query, options, cancellationToken, GatehouseTransport.SnakeCaseJson);

    public Task<MeshHubView> GetAsync(string orgId, string hubId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<MeshHubView>(_transport, HttpMethod.Get, HubsPath(orgId, hubId), null, options, cancellationToken);

    /// <summary>Replaces a hub.</summary>
    public Task<MeshHubView> UpdateAsync(string orgId, string hubId, MeshHubRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<MeshHubView>(_transport, HttpMethod.Put, HubsPath(orgId, hubId), request, options, cancellationToken);

    /// <summary>Deletes a hub; its spokes' configs are revoked.</summary>
    public Task<MeshHubView> DeleteAsync(string orgId, string hubId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<MeshHubView>(_transport, HttpMethod.Delete, HubsPath(orgId, hubId), null, options, cancellationToken);

    /// <summary>A site joins the hub: a WireGuard config to download once (<see cref="VpnConfigsClient.DownloadAsync"/>).</summary>
    public Task<GeneratedConfigView> AddSpokeAsync(string orgId, string hubId, MeshSpokeRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<GeneratedConfigView>(_transport, HttpMethod.Post, HubsPath(orgId, hubId) + "/spokes", request, options, cancellationToken);

    private static string HubsPath(string orgId, string? hubId = null) => Segment.Org(orgId) + "/admin/mesh/hubs" + (hubId is null ? "" : "/" + Segment.Of(hubId));
}

/// <summary>The organization's geo-fence: where users may log in, get configs and connect from (<c>gateways:write</c>).</summary>
public sealed class GeoFenceClient
{
    private readonly GatehouseTransport _transport;

    internal GeoFenceClient(GatehouseTransport transport) => _transport = transport;

    public Task<GeoFenceView> GetAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<GeoFenceView>(_transport, HttpMethod.Get, Path(orgId), null, options, cancellationToken);

    /// <summary>Sets the fence: <c>off</c>, or an allow- or deny-list of countries.</summary>
    public Task<GeoFenceView> PutAsync(string orgId, GeoFenceRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<GeoFenceView>(_transport, HttpMethod.Put, Path(orgId), request, options, cancellationToken);

    /// <summary>What the fence decides for an address.</summary>
    public Task<GeoFenceCheckView> CheckAsync(string orgId, GeoFenceCheckRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SnakeCaseCalls.Send<GeoFenceCheckView>(_transport, HttpMethod.Post, Path(orgId) + "/check", request, options, cancellationToken, idempotent: false);

    private static string Path(string orgId) => Segment.Org(orgId) + "/admin/geo-fence";
}

/// <summary>The one way the GateKey sub-clients send an enveloped call: snake_case both ways.</summary>
internal static class SnakeCaseCalls
{
    public static Task<T> Send<T>(
        GatehouseTransport transport, HttpMethod method, string path, object? body, RequestOptions? options, CancellationToken cancellationToken, bool idempotent = true) =>
        transport.SendAsync<T>(method, path, body, options, cancellationToken, idempotent, GatehouseTransport.SnakeCaseJson);
}
