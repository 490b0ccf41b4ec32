using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Contracts.ServiceAccounts;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/service-accounts</c>: machine identities that own keys and OAuth clients.</summary>
public sealed class ServiceAccountsClient
{
    private readonly GatehouseTransport _transport;

    internal ServiceAccountsClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/service-accounts";

    private static string Path(string orgId, string serviceAccountId) => Path(orgId) + "/" + Segment.Of(serviceAccountId);

    /// <summary>Creates the account and its first key (the key's secret is shown once).</summary>
    public Task<CreatedServiceAccount> CreateAsync(string orgId, CreateServiceAccountRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CreatedServiceAccount>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    /// <summary>Root: the same, naming the organization in the body.</summary>
    public Task<CreatedServiceAccount> CreateForOrgAsync(AdminCreateServiceAccountRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CreatedServiceAccount>(HttpMethod.Post, "admin/service-accounts", request, options, cancellationToken);

    public Task<Page<ServiceAccountView>> ListAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<ServiceAccountView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<ServiceAccountView> ListAllAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<ServiceAccountView, ListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new ListQuery(), cancellationToken);

    public Task<ServiceAccountView> GetAsync(string orgId, string serviceAccountId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ServiceAccountView>(HttpMethod.Get, Path(orgId, serviceAccountId), null, options, cancellationToken);

    public Task<ServiceAccountView> UpdateAsync(string orgId, string serviceAccountId, UpdateServiceAccountRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ServiceAccountView>(HttpMethod.Patch, Path(orgId, serviceAccountId), request, options, cancellationToken);

    /// <summary>Deletes the account and revokes every key and OAuth client it owns.</summary>
    public Task<Deleted> DeleteAsync(string orgId, string serviceAccountId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, serviceAccountId), null, options, cancellationToken);

    /// <summary>Another key owned by the account (its permissions stay within the account's).</summary>
    public Task<IssuedApiKey> CreateKeyAsync(string orgId, string serviceAccountId, CreateApiKeyRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IssuedApiKey>(HttpMethod.Post, Path(orgId, serviceAccountId) + "/keys", request, options, cancellationToken);
}

/// <summary><c>/api/v1/orgs/{orgId}/oauth-clients</c>: OAuth 2.0 client-credentials clients.</summary>
public sealed class OAuthClientsClient
{
    private readonly GatehouseTransport _transport;

    internal OAuthClientsClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/oauth-clients";

    private static string Path(string orgId, string clientId) => Path(orgId) + "/" + Segment.Of(clientId);

    /// <summary>Registers a client; <c>clientSecret</c> is shown only here and by <see cref="RotateSecretAsync"/>.</summary>
    public Task<OAuthClientWithSecret> CreateAsync(string orgId, CreateOAuthClientRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OAuthClientWithSecret>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    public Task<Page<OAuthClientView>> ListAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<OAuthClientView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<OAuthClientView> ListAllAsync(string orgId, ListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<OAuthClientView, ListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new ListQuery(), cancellationToken);

    public Task<OAuthClientView> GetAsync(string orgId, string clientId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OAuthClientView>(HttpMethod.Get, Path(orgId, clientId), null, options, cancellationToken);

    public Task<OAuthClientView> UpdateAsync(string orgId, string clientId, UpdateOAuthClientRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OAuthClientView>(HttpMethod.Patch, Path(orgId, clientId), request, options, cancellationToken);

    public Task<Deleted> DeleteAsync(string orgId, string clientId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, clientId), null, options, cancellationToken);

    public Task<OAuthClientWithSecret> RotateSecretAsync(string orgId, string clientId, RotateOAuthClientSecretRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<OAuthClientWithSecret>(HttpMethod.Post, Path(orgId, clientId) + "/rotate-secret", request ?? new RotateOAuthClientSecretRequest(), options, cancellationToken);
}
