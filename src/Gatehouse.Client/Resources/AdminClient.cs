using System.Net;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Health;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Contracts.RateLimits;
using Gatehouse.Contracts.Vault;

namespace Gatehouse.Client;

/// <summary>Root's platform operations: component health, data keys, token-signing keys.</summary>
public sealed class AdminClient
{
    private readonly GatehouseTransport _transport;

    internal AdminClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>Every component with its status and latency; a down component makes the server answer 503 (a <see cref="GatehouseApiException"/>).</summary>
    public Task<AdminHealth> GetHealthAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<AdminHealth>(HttpMethod.Get, "admin/health", null, options, cancellationToken);

    /// <summary>Adds a data-key version for one organization, or for all when <paramref name="orgId"/> is null.</summary>
    public Task<IReadOnlyList<RotatedDataKey>> RotateDataKeysAsync(string? orgId = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<RotatedDataKey>>(HttpMethod.Post, "admin/dek/rotate", new RotateDataKeysRequest { OrgId = orgId }, options, cancellationToken);

    /// <summary>Data-key versions and how many records each protects.</summary>
    public Task<IReadOnlyList<KeyringEntry>> GetKeyringAsync(string? orgId = null, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        query.Add("orgId", orgId);
        return _transport.SendAsync<IReadOnlyList<KeyringEntry>>(HttpMethod.Get, "admin/keyring" + query, null, options, cancellationToken);
    }

    public Task<IReadOnlyList<SigningKeyView>> ListSigningKeysAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<SigningKeyView>>(HttpMethod.Get, "admin/oauth/signing-keys", null, options, cancellationToken);

    public Task<SigningKeyView> RotateSigningKeyAsync(RotateSigningKeyRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<SigningKeyView>(HttpMethod.Post, "admin/oauth/signing-keys/rotate", request ?? new RotateSigningKeyRequest(), options, cancellationToken);
}

/// <summary>Health without a credential: <c>/api/v1/health</c> and the load-balancer probe <c>/health</c>.</summary>
public sealed class HealthClient
{
    private readonly GatehouseTransport _transport;

    internal HealthClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>Status, version and uptime of the node that answered.</summary>
    public Task<ApiHealth> GetAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ApiHealth>(HttpMethod.Get, "health", null, options, cancellationToken);

    /// <summary>True when <c>GET /health</c> answers 200 <c>healthy</c> (the server and its database work).</summary>
    public async Task<bool> IsReadyAsync(RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (status, body) = await _transport.SendBareAsync<HealthStatus>(new Uri(_transport.ServerRoot, "health"), options, cancellationToken);
        return status == HttpStatusCode.OK && body?.Status == ComponentHealth.Healthy;
    }
}

/// <summary><c>/api/v1/ratelimit</c> and its per-identifier overrides.</summary>
public sealed class RateLimitsClient
{
    private readonly GatehouseTransport _transport;

    internal RateLimitsClient(GatehouseTransport transport) => _transport = transport;

    private static string Overrides(string orgId) => Segment.Org(orgId) + "/ratelimit-overrides";

    /// <summary>Counts one use against a limit; <see cref="RateLimitResponse.Success"/> false means the limit is reached.</summary>
    public Task<RateLimitResponse> LimitAsync(RateLimitRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RateLimitResponse>(HttpMethod.Post, "ratelimit", request, options, cancellationToken, idempotent: false);

    public Task<Page<RateLimitOverrideView>> ListOverridesAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<RateLimitOverrideView>(Overrides(orgId), query, options, cancellationToken);

    public Task<RateLimitOverrideView> SetOverrideAsync(string orgId, SetRateLimitOverrideRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RateLimitOverrideView>(HttpMethod.Put, Overrides(orgId), request, options, cancellationToken);

    public Task<Deleted> DeleteOverrideAsync(string orgId, string @namespace, string identifier, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        query.Add("namespace", @namespace);
        query.Add("identifier", identifier);
        return _transport.SendAsync<Deleted>(HttpMethod.Delete, Overrides(orgId) + query, null, options, cancellationToken);
    }
}
