using System.ComponentModel.DataAnnotations;

namespace Gatehouse.Contracts.Pki;

/// <summary>
/// Revoke a certificate of the organization's CA. <c>reason</c> is an RFC 5280 reason:
/// <c>unspecified</c>, <c>key_compromise</c>, <c>ca_compromise</c>, <c>affiliation_changed</c>,
/// <c>superseded</c>, <c>cessation_of_operation</c> or <c>privilege_withdrawn</c> (camelCase spellings are accepted).
/// </summary>
public sealed record RevokeCertificateRequest
{
    /// <summary>The serial in hex, as <c>openssl x509 -serial</c> prints it (case, colons and a <c>0x</c> prefix are ignored).</summary>
    [Required, StringLength(64, MinimumLength = 1)]
    public string? Serial { get; init; }

    [Required, StringLength(64, MinimumLength = 1)]
    public string? Reason { get; init; }
}

/// <summary>Whether a serial is in force: <c>good</c>, <c>revoked</c> (with when and why) or <c>unknown</c> (never issued by this CA).</summary>
public sealed record CertificateStatusView(string Serial, string Status, DateTime? RevokedAt, string? Reason);

/// <summary>The answer to a revocation: the certificate's status and the CRL number that now lists it.</summary>
public sealed record RevokedCertificateView(string Serial, string Status, DateTime? RevokedAt, string? Reason, long CrlNumber);
