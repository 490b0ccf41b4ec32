using System.Text;
using Gatehouse.Contracts.Pki;

namespace Gatehouse.Client;

/// <summary>
/// Each organization's certificate authority (API.md §10, snake_case on the wire): the public CA
/// certificate, CRL and status check, which need no credential and name the organization as
/// <c>?org=&lt;id or slug&gt;</c>, and revocation with <c>pki:write</c>.
/// </summary>
public sealed class PkiClient
{
    private readonly GatehouseTransport _transport;

    internal PkiClient(GatehouseTransport transport) => _transport = transport;

    /// <summary>The organization's CA certificate in PEM (the server's default organization when <paramref name="org"/> is null).</summary>
    public async Task<string> GetCaPemAsync(string? org, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Encoding.ASCII.GetString(await _transport.SendForBytesAsync("pki/ca.pem" + OrgQuery(org), "application/x-pem-file", options, cancellationToken));

    /// <summary>The organization's current CRL in DER (<c>application/pkix-crl</c>).</summary>
    public Task<byte[]> GetCrlAsync(string? org, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendForBytesAsync("pki/crl" + OrgQuery(org), "application/pkix-crl", options, cancellationToken);

    /// <summary>The organization's current CRL in PEM.</summary>
    public async Task<string> GetCrlPemAsync(string? org, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Encoding.ASCII.GetString(await _transport.SendForBytesAsync("pki/crl.pem" + OrgQuery(org), "application/x-pem-file", options, cancellationToken));

    /// <summary>Whether a serial (hex) is <c>good</c>, <c>revoked</c> or <c>unknown</c> to the organization's CA.</summary>
    public Task<CertificateStatusView> CheckAsync(string? org, string serial, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<CertificateStatusView>(HttpMethod.Get, "pki/check/" + Segment.Of(serial) + OrgQuery(org), null, options, cancellationToken,
            json: GatehouseTransport.SnakeCaseJson);

    /// <summary>Revokes a certificate; the CRL is re-issued in the same transaction (<c>crl_number</c> is the new one).</summary>
    public Task<RevokedCertificateView> RevokeAsync(string orgId, RevokeCertificateRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<RevokedCertificateView>(HttpMethod.Post, Segment.Org(orgId) + "/admin/pki/revoke", request, options, cancellationToken,
            json: GatehouseTransport.SnakeCaseJson);

    private static string OrgQuery(string? org) => org is null ? "" : "?org=" + Uri.EscapeDataString(org);
}
