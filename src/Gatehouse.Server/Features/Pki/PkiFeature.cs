using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Pki;

/// <summary>Settings of section <c>Gatehouse:Pki</c>.</summary>
[FeatureApi]
public sealed class PkiOptions
{
    /// <summary>How long a new CA certificate is valid.</summary>
    [Range(30, 36_500)]
    public int AuthorityLifetimeDays { get; set; } = 3650;

    /// <summary>How far ahead each CRL's <c>nextUpdate</c> lies; the refresh job re-signs it halfway.</summary>
    [Range(1, 720)]
    public int CrlValidityHours { get; set; } = 24;

    /// <summary>The longest a client certificate may live (the default lifetime is 24 h).</summary>
    [Range(1, 30)]
    public int ClientMaxLifetimeDays { get; set; } = 30;

    /// <summary>How long a gateway's server certificate from <c>provision</c> lives.</summary>
    [Range(1, 825)]
    public int ServerLifetimeDays { get; set; } = 90;

    /// <summary>The organization (id or slug) the public PKI routes serve when a request names none with <c>?org=</c>.</summary>
    public string? DefaultOrg { get; set; }
}

/// <summary>What happens to an organization's certificate authority and its certificates.</summary>
[FeatureApi]
public static class PkiActions
{
    public static readonly AuditAction CreateAuthority = new("pki.ca_create", "certificate_authority", new WebhookEvent("pki.ca_created", "The organization's certificate authority was created (on first use).", "pki:read"));
    public static readonly AuditAction Issue = new("pki.issue", "certificate", new WebhookEvent("certificate.issued", "A certificate was issued by the organization's CA.", "pki:read"));
    public static readonly AuditAction Revoke = new("pki.revoke", "certificate", new WebhookEvent("certificate.revoked", "A certificate was revoked; the CRL was re-issued.", "pki:read"));

    public static readonly IReadOnlyList<AuditAction> All = [CreateAuthority, Issue, Revoke];
}

/// <summary>
/// A certificate authority per organization (ECDSA P-256, key sealed under the org's data key):
/// the public CA certificate and CRL, revocation status, and revocation by an administrator.
/// </summary>
public sealed class PkiFeature : Feature
{
    public override string Name => "Pki";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Pki", "Each organization's certificate authority: CA certificate, CRL, revocation.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("pki:read", "Read certificate metadata and hear of issued and revoked certificates."),
        new("pki:write", "Revoke certificates of the organization's CA."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => PkiActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<PkiOptions>(Name);
        services.Services.AddSingleton<OrgCertificateAuthorities>();
        services.Services.AddScoped<Vault.IDataKeyUser, PkiDataKeyUser>();
        services.OrgData<PkiOrgData>();
        services.Job<CrlRefresh>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var pki = routes.Api.MapGroup("/pki").WithTags("Pki").AllowPublic();
        pki.MapGet("/ca.pem", PkiOperations.CaPem).WithName("GetCaCertificate")
            .Produces<string>(200, "application/x-pem-file").WithSummary("The organization's CA certificate in PEM (public; ?org=<id or slug>)");
        pki.MapGet("/crl", PkiOperations.CrlDer).WithName("GetCrl")
            .Produces<byte[]>(200, "application/pkix-crl").WithSummary("The organization's current CRL in DER (public; ?org=<id or slug>)");
        pki.MapGet("/crl.pem", PkiOperations.CrlPem).WithName("GetCrlPem")
            .Produces<string>(200, "application/x-pem-file").WithSummary("The organization's current CRL in PEM (public; ?org=<id or slug>)");
        pki.MapGet("/check/{serial}", PkiOperations.Check).WithName("CheckCertificate").WithResponseProfile(ResponseProfile.EnvelopeSnakeCase)
            .WithSummary("Whether a serial is good, revoked or unknown (public; ?org=<id or slug>)");

        routes.Api.MapPost("/orgs/{orgId}/admin/pki/revoke", PkiOperations.Revoke).WithTags("Pki").RequirePermission("pki:write")
            .WithResponseProfile(ResponseProfile.EnvelopeSnakeCase).WithName("RevokeCertificate")
            .WithSummary("Revoke a certificate; the CRL is re-issued in the same transaction (also /api/v1/admin/pki/revoke)");
    }
}
