using Gatehouse.Contracts;
using Gatehouse.Contracts.Users;

namespace Gatehouse.Client;

/// <summary>
/// <c>/api/v1/orgs/{orgId}/sso</c>: the organization's OpenID Connect provider. People log in through
/// it in a browser at <see cref="SsoSettingsView.LoginUrl"/>; the client secret is write-only.
/// </summary>
public sealed class SsoClient
{
    private readonly GatehouseTransport _transport;

    internal SsoClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/sso";

    public Task<SsoSettingsView> GetAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<SsoSettingsView>(HttpMethod.Get, Path(orgId), null, options, cancellationToken);

    public Task<SsoSettingsView> PutAsync(string orgId, PutSsoSettingsRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<SsoSettingsView>(HttpMethod.Put, Path(orgId), request, options, cancellationToken);

    public Task<Deleted> DeleteAsync(string orgId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId), null, options, cancellationToken);
}
