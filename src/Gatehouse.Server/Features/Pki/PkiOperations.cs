using System.Security.Cryptography;
using Gatehouse.Contracts.Pki;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Pki;

public static class PkiOperations
{
    private const string PemType = "application/x-pem-file";
    private const string CrlType = "application/pkix-crl";

    public static async Task<Results<FileContentHttpResult, ApiError>> CaPem(
        [FromQuery] string? org, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, PkiOptions options, CancellationToken cancellationToken)
    {
        var (record, error) = await AuthorityOfAsync(org, db, changes, authorities, options, cancellationToken);
        return error is not null ? error
            : TypedResults.File(System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("CERTIFICATE", record!.Certificate) + "\n"), PemType, "ca.pem");
    }

    public static async Task<Results<FileContentHttpResult, ApiError>> CrlDer(
        [FromQuery] string? org, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, PkiOptions options, CancellationToken cancellationToken)
    {
        var (record, error) = await AuthorityOfAsync(org, db, changes, authorities, options, cancellationToken);
        return error is not null ? error : TypedResults.File(record!.Crl, CrlType, "crl.der");
    }

    public static async Task<Results<FileContentHttpResult, ApiError>> CrlPem(
        [FromQuery] string? org, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, PkiOptions options, CancellationToken cancellationToken)
    {
        var (record, error) = await AuthorityOfAsync(org, db, changes, authorities, options, cancellationToken);
        return error is not null ? error
            : TypedResults.File(System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("X509 CRL", record!.Crl) + "\n"), PemType, "crl.pem");
    }

    public static async Task<Results<ApiOk<CertificateStatusView>, ApiError>> Check(
        string serial, [FromQuery] string? org, GatehouseDb db, PkiOptions options, CancellationToken cancellationToken)
    {
        var (orgId, error) = await OrgOfAsync(org, db, options, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (Serials.Normalize(serial) is not { } normalized)
        {
            return ApiError.Invalid("serial must be a certificate serial in hex.", new Dictionary<string, object?> { ["parameter"] = "serial" });
        }

        var row = await db.Owned<IssuedCertificateRecord>(orgId!).AsNoTracking().FirstOrDefaultAsync(c => c.Serial == normalized, cancellationToken);
        return new ApiOk<CertificateStatusView>(row is null
            ? new CertificateStatusView(normalized, "unknown", null, null)
            : new CertificateStatusView(normalized, row.RevokedAt is null ? "good" : "revoked", row.RevokedAt, row.RevocationReason));
    }

    public static async Task<Results<ApiOk<RevokedCertificateView>, ApiError>> Revoke(
        string orgId, RevokeCertificateRequest request, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("serial", request.Serial, 64).Required("reason", request.Reason, 64);
        if (validation.IsValid && Serials.Normalize(request.Serial) is null)
        {
            validation.Add("serial", "must be a certificate serial in hex");
        }

        if (validation.IsValid && RevocationReasons.Normalize(request.Reason) is null)
        {
            validation.Add("reason", "must be one of " + string.Join(", ", RevocationReasons.ByName.Keys));
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var serial = Serials.Normalize(request.Serial)!;
        var reason = RevocationReasons.Normalize(request.Reason)!;
        return await changes.RunAsync<Results<ApiOk<RevokedCertificateView>, ApiError>>(async ct =>
        {
            var (certificate, alreadyRevoked, crlNumber) = await authorities.RevokeAsync(db, orgId, serial, reason, ct);
            if (certificate is null)
            {
                return ApiError.NotFound("certificate");
            }

            if (alreadyRevoked)
            {
                return ApiError.Conflict($"The certificate {serial} is already revoked.");
            }

            changes.Record(PkiActions.Revoke, orgId, serial, new { serial, reason, certificate.Kind, certificate.OwnerId, crlNumber });
            return new ApiOk<RevokedCertificateView>(new RevokedCertificateView(serial, "revoked", certificate.RevokedAt, reason, crlNumber));
        }, cancellationToken);
    }

    /// <summary>The organization a public PKI request names: <c>?org=</c> (an id or a slug), else the configured default.</summary>
    private static async Task<(string? OrgId, ApiError? Error)> OrgOfAsync(string? org, GatehouseDb db, PkiOptions options, CancellationToken cancellationToken)
    {
        var named = string.IsNullOrWhiteSpace(org) ? options.DefaultOrg : org.Trim();
        if (string.IsNullOrWhiteSpace(named))
        {
            return (null, ApiError.Invalid("Name the organization with ?org=<id or slug>.", new Dictionary<string, object?> { ["parameter"] = "org" }));
        }

        var orgId = await db.Set<Organization>().AsNoTracking()
            .Where(o => (o.Id == named || o.Slug == named) && o.DeletedAt == null).Select(o => o.Id).FirstOrDefaultAsync(cancellationToken);
        return orgId is null ? (null, ApiError.NotFound("organization")) : (orgId, null);
    }

    /// <summary>The organization's authority, created on first use (its creation is audited like any change).</summary>
    private static async Task<(CertificateAuthorityRecord? Record, ApiError? Error)> AuthorityOfAsync(
        string? org, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, PkiOptions options, CancellationToken cancellationToken)
    {
        var (orgId, error) = await OrgOfAsync(org, db, options, cancellationToken);
        if (error is not null)
        {
            return (null, error);
        }

        if (await authorities.FindAsync(db, orgId!, cancellationToken) is { } existing)
        {
            return (existing, null);
        }

        var record = await changes.RunAsync(async ct =>
        {
            var (ensured, created) = await authorities.EnsureAsync(db, orgId!, ct);
            if (created)
            {
                changes.Record(PkiActions.CreateAuthority, orgId, orgId, new { crlNumber = ensured.CrlNumber }, actor: ("system", "pki"));
            }

            return ensured;
        }, cancellationToken);
        return (record, null);
    }
}
