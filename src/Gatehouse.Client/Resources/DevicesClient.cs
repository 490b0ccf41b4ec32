using Gatehouse.Contracts;
using Gatehouse.Contracts.Devices;

namespace Gatehouse.Client;

/// <summary>
/// Device verification: the app backend's side of the flow (<c>/api/v1/device-auth</c>), device apps,
/// devices and device-bound sessions (<c>/api/v1/orgs/{orgId}/…</c>). The browser side runs in the
/// agent script that Gatehouse serves at <c>/device/agent.js</c>.
/// </summary>
public sealed class DevicesClient
{
    private readonly GatehouseTransport _transport;

    internal DevicesClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>
    /// Where to send the user's browser to prove its device: the hosted page's URL and the request id.
    /// The page comes back to <see cref="DeviceAuthUrlRequest.RedirectUrl"/> with <c>?token=…&amp;requestId=…</c>.
    /// </summary>
    public Task<DeviceAuthUrlResponse> GenerateAuthUrlAsync(DeviceAuthUrlRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAuthUrlResponse>(HttpMethod.Post, "device-auth/url", request, options, cancellationToken);

    /// <summary>Exchanges the one-time token the page brought back for the device and a device-bound session.</summary>
    public Task<DeviceAuthVerifyResponse> VerifyTokenAsync(DeviceAuthVerifyRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAuthVerifyResponse>(HttpMethod.Post, "device-auth/verify", request, options, cancellationToken);

    /// <summary>Renews a session with its refresh token; the old refresh token stops working.</summary>
    public Task<DeviceAuthRefreshResponse> RefreshTokenAsync(DeviceAuthRefreshRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAuthRefreshResponse>(HttpMethod.Post, "device-auth/refresh", request, options, cancellationToken);

    public Task<DeviceAppView> CreateAppAsync(string orgId, CreateDeviceAppRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAppView>(HttpMethod.Post, AppsPath(orgId), request, options, cancellationToken);

    public Task<Page<DeviceAppView>> ListAppsAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<DeviceAppView>(AppsPath(orgId), query, options, cancellationToken);

    public Task<DeviceAppView> GetAppAsync(string orgId, string appId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAppView>(HttpMethod.Get, AppsPath(orgId) + "/" + Segment.Of(appId), null, options, cancellationToken);

    public Task<DeviceAppView> UpdateAppAsync(string orgId, string appId, UpdateDeviceAppRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceAppView>(HttpMethod.Patch, AppsPath(orgId) + "/" + Segment.Of(appId), request, options, cancellationToken);

    public Task<Deleted> DeleteAppAsync(string orgId, string appId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, AppsPath(orgId) + "/" + Segment.Of(appId), null, options, cancellationToken);

    /// <summary>Registers a device server to server, with its public key (a JWK).</summary>
    public Task<DeviceView> RegisterAsync(string orgId, RegisterDeviceRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceView>(HttpMethod.Post, DevicesPath(orgId), request, options, cancellationToken);

    public Task<Page<DeviceView>> ListAsync(string orgId, DeviceListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<DeviceView>(DevicesPath(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<DeviceView> ListAllAsync(string orgId, DeviceListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<DeviceView, DeviceListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new DeviceListQuery(), cancellationToken);

    public Task<DeviceView> GetAsync(string orgId, string deviceId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceView>(HttpMethod.Get, DevicesPath(orgId) + "/" + Segment.Of(deviceId), null, options, cancellationToken);

    /// <summary>Revokes the device and ends its sessions at once.</summary>
    public Task<DeviceView> RevokeAsync(string orgId, string deviceId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceView>(HttpMethod.Delete, DevicesPath(orgId) + "/" + Segment.Of(deviceId), null, options, cancellationToken);

    public Task<DeviceSessionView> CreateSessionAsync(string orgId, CreateDeviceSessionRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceSessionView>(HttpMethod.Post, SessionsPath(orgId), request, options, cancellationToken);

    public Task<DeviceSessionView> GetSessionAsync(string orgId, string sessionId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceSessionView>(HttpMethod.Get, SessionsPath(orgId) + "/" + Segment.Of(sessionId), null, options, cancellationToken);

    /// <summary>
    /// Whether the session is still good; a device-bound session also needs a fresh proof from the
    /// agent (<c>GatehouseAgent.prove({sessionId})</c> in the page). <c>valid: false</c> is an answer, not an error.
    /// </summary>
    public Task<ValidateDeviceSessionResponse> ValidateSessionAsync(string orgId, string sessionId, ValidateDeviceSessionRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ValidateDeviceSessionResponse>(HttpMethod.Post, SessionsPath(orgId) + "/" + Segment.Of(sessionId) + "/validate", request, options, cancellationToken);

    public Task<DeviceSessionView> EndSessionAsync(string orgId, string sessionId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<DeviceSessionView>(HttpMethod.Delete, SessionsPath(orgId) + "/" + Segment.Of(sessionId), null, options, cancellationToken);

    private static string AppsPath(string orgId) => Segment.Org(orgId) + "/device-apps";

    private static string DevicesPath(string orgId) => Segment.Org(orgId) + "/devices";

    private static string SessionsPath(string orgId) => Segment.Org(orgId) + "/sessions";
}
