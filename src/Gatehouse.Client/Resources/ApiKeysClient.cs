using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/api-keys</c> and <c>/api/v1/keys/verify</c>.</summary>
public sealed class ApiKeysClient
{
    private readonly GatehouseTransport _transport;
    private readonly VerdictCache? _cache;

    internal ApiKeysClient(GatehouseTransport transport, VerdictCache? cache)
    {
        _transport = transport;
        _cache = cache;
    }

    private static string Path(string orgId) => Segment.Org(orgId) + "/api-keys";

    private static string Path(string orgId, string keyId) => Path(orgId) + "/" + Segment.Of(keyId);

    /// <summary>Creates a key; <see cref="IssuedApiKey.Key"/> is the only time the secret is shown.</summary>
    public Task<IssuedApiKey> CreateAsync(string orgId, CreateApiKeyRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IssuedApiKey>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    public Task<Page<ApiKeyView>> ListAsync(string orgId, ApiKeyListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<ApiKeyView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<ApiKeyView> ListAllAsync(string orgId, ApiKeyListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<ApiKeyView, ApiKeyListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new ApiKeyListQuery(), cancellationToken);

    public Task<ApiKeyView> GetAsync(string orgId, string keyId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ApiKeyView>(HttpMethod.Get, Path(orgId, keyId), null, options, cancellationToken);

    public Task<ApiKeyView> UpdateAsync(string orgId, string keyId, UpdateApiKeyRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ApiKeyView>(HttpMethod.Patch, Path(orgId, keyId), request, options, cancellationToken);

    /// <summary>A new key with the same settings (secret shown once); the old one works for the grace period.</summary>
    public Task<IssuedApiKey> RotateAsync(string orgId, string keyId, RotateApiKeyRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IssuedApiKey>(HttpMethod.Post, Path(orgId, keyId) + "/rotate", request ?? new RotateApiKeyRequest(), options, cancellationToken);

    /// <summary>Revokes the key; the record stays for the audit trail and a second revoke is 404.</summary>
    public Task<Deleted> RevokeAsync(string orgId, string keyId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, keyId), null, options, cancellationToken);

    /// <summary>Whether <paramref name="key"/> is this key's secret, without spending credits or rate limits.</summary>
    public Task<KeyVerdict> ValidateAsync(string orgId, string keyId, string key, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<KeyVerdict>(HttpMethod.Post, Path(orgId, keyId) + "/validate", new ValidateApiKeyRequest { Key = key }, options, cancellationToken);

    /// <summary>Verifications of the key by outcome, per <c>hour</c> or <c>day</c>.</summary>
    public Task<ApiKeyUsageView> GetUsageAsync(
        string orgId, string keyId, DateTimeOffset? start = null, DateTimeOffset? end = null, string? granularity = null,
        RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryString();
        query.Add("start", start);
        query.Add("end", end);
        query.Add("granularity", granularity);
        return _transport.SendAsync<ApiKeyUsageView>(HttpMethod.Get, Path(orgId, keyId) + "/usage" + query, null, options, cancellationToken);
    }

    /// <summary>
    /// Verifies a key presented to your service, optionally against a permission query
    /// (<c>"deploy:write AND env:prod"</c>). The verdict is in the answer (<see cref="KeyVerdict.Valid"/>,
    /// <see cref="KeyVerdict.Code"/>); an exception means the call itself failed.
    /// </summary>
    public Task<KeyVerdict> VerifyAsync(string key, string? permissions = null, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var request = new VerifyApiKeyRequest { Key = key, Permissions = permissions };
        return _cache is null
            ? SendVerifyAsync(request, options, cancellationToken)
            : _cache.GetOrAddAsync(key, permissions, () => SendVerifyAsync(request, options, cancellationToken));
    }

    /// <summary>Verifies with every option of the route (cost, named rate-limit costs, client IP, tags); never cached.</summary>
    public Task<KeyVerdict> VerifyAsync(VerifyApiKeyRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        SendVerifyAsync(request, options, cancellationToken);

    // No automatic idempotency key: it would make every verification a database write on the
    // server's hot path. Without one the transport retries a verification only when it never left
    // this process, so credits are never spent twice; pass RequestOptions.IdempotencyKey to opt in.
    private Task<KeyVerdict> SendVerifyAsync(VerifyApiKeyRequest request, RequestOptions? options, CancellationToken cancellationToken) =>
        _transport.SendAsync<KeyVerdict>(HttpMethod.Post, "keys/verify", request, options, cancellationToken, idempotent: false);
}
