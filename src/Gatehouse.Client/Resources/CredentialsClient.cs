using Gatehouse.Contracts;
using Gatehouse.Contracts.Vault;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/credentials</c>: the vault of third-party secrets, grouped by integration.</summary>
public sealed class CredentialsClient
{
    private readonly GatehouseTransport _transport;

    internal CredentialsClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/credentials";

    private static string Path(string orgId, string integrationId) => Path(orgId) + "/" + Segment.Of(integrationId);

    private static string Path(string orgId, string integrationId, string credentialId) => Path(orgId, integrationId) + "/" + Segment.Of(credentialId);

    /// <summary>Stores a credential; its <c>data</c> is encrypted and only reveal returns it.</summary>
    public Task<CredentialView> PutAsync(string orgId, CreateCredentialRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CredentialView>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    /// <summary>Metadata only, never secret data.</summary>
    public Task<Page<CredentialView>> ListAsync(string orgId, CredentialListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<CredentialView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<CredentialView> ListAllAsync(string orgId, CredentialListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<CredentialView, CredentialListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new CredentialListQuery(), cancellationToken);

    /// <summary>The integration's credentials with their metadata and versions, without secret data.</summary>
    public Task<IReadOnlyList<CredentialView>> GetAsync(string orgId, string integrationId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<CredentialView>>(HttpMethod.Get, Path(orgId, integrationId) + "/details", null, options, cancellationToken);

    /// <summary>The versions of one credential (from its details): each version and the data-key version protecting it.</summary>
    public async Task<IReadOnlyList<CredentialVersionView>> GetVersionsAsync(
        string orgId, string integrationId, string credentialId, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        var credentials = await GetAsync(orgId, integrationId, options, cancellationToken);
        var credential = credentials.FirstOrDefault(c => c.Id == credentialId)
            ?? throw new GatehouseNotFoundException(System.Net.HttpStatusCode.NotFound, ErrorCodes.NotFound, $"Credential '{credentialId}' is not in integration '{integrationId}'.", null, default, null);
        return credential.Versions ?? [];
    }

    /// <summary>Decrypted data of every credential of the integration (audited as <c>credential.reveal</c>).</summary>
    public Task<IReadOnlyList<RevealedCredential>> RevealAsync(string orgId, string integrationId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<RevealedCredential>>(HttpMethod.Get, Path(orgId, integrationId), null, options, cancellationToken);

    /// <summary>Decrypted data of one credential (audited).</summary>
    public Task<RevealedCredential> RevealAsync(string orgId, string integrationId, string credentialId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RevealedCredential>(HttpMethod.Get, Path(orgId, integrationId, credentialId), null, options, cancellationToken);

    /// <summary>Changes a credential; new <c>data</c> adds a version.</summary>
    public Task<CredentialView> UpdateAsync(string orgId, string integrationId, string credentialId, UpdateCredentialRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CredentialView>(HttpMethod.Patch, Path(orgId, integrationId, credentialId), request, options, cancellationToken);

    /// <summary>Deletes a credential and every version of it.</summary>
    public Task<Deleted> DeleteAsync(string orgId, string integrationId, string credentialId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, integrationId, credentialId), null, options, cancellationToken);
}
