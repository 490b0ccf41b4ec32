using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Crypto;

/// <summary>What a certificate is for: it decides the key usages and the extended key usage.</summary>
public enum CertificatePurpose
{
    /// <summary>A VPN client proving who it is to a gateway (EKU clientAuth).</summary>
    Client,

    /// <summary>A gateway proving its hostname to clients (EKU serverAuth, the hostname as a SAN).</summary>
    Server,
}

/// <summary>One revoked certificate, as a CRL lists it.</summary>
public sealed record RevokedSerial(string Serial, DateTimeOffset RevokedAt, X509RevocationReason? Reason);

/// <summary>
/// An organization's certificate authority: an ECDSA P-256 key and a self-signed certificate that
/// signs client and gateway certificates and the revocation list. Pure: it holds no state beyond the
/// key, so the caller decides where the key lives (sealed in the keyring) and how serials and CRL
/// numbers are recorded.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    /// <summary>Serials carry 128 random bits (RFC 5280 allows up to 20 octets; CA/B asks for at least 64 bits).</summary>
    public const int SerialBytes = 16;

    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "TLS Web Client Authentication");
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "TLS Web Server Authentication");

    private readonly ECDsa _key;

    private CertificateAuthority(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate in PEM, as clients and gateways install it.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>A new CA for <paramref name="organizationName"/>, valid from a minute before <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public static CertificateAuthority Create(string organizationName, string organizationId, DateTimeOffset now, TimeSpan lifetime)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("Gatehouse");
        name.AddOrganizationalUnitName(organizationId);
        name.AddCommonName(Truncate(organizationName, 48) + " CA");
        var subject = name.Build();
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        var subjectKeyId = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKeyId);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyId));
        using var selfSigned = request.Create(subject, X509SignatureGenerator.CreateForECDsa(key), now.AddMinutes(-1), now.Add(lifetime), NewSerial());
        return new CertificateAuthority(X509CertificateLoader.LoadCertificate(selfSigned.RawData), key);
    }

    /// <summary>Loads a CA from its certificate (DER) and its private key (PKCS#8); refuses a key that does not match.</summary>
    public static CertificateAuthority Load(byte[] certificateDer, byte[] privateKeyPkcs8)
    {
        var certificate = X509CertificateLoader.LoadCertificate(certificateDer);
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(privateKeyPkcs8, out _);
        using var published = certificate.GetECDsaPublicKey() ?? throw new CryptographicException("The CA certificate does not hold an ECDSA key.");
        if (!published.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            key.Dispose();
            throw new CryptographicException("The CA key does not match its certificate.");
        }

        return new CertificateAuthority(certificate, key);
    }

    /// <summary>The private key in PKCS#8, for the caller to seal. Clear the array after use.</summary>
    public byte[] ExportPrivateKey() => _key.ExportPkcs8PrivateKey();

    /// <summary>
    /// Signs a certificate for <paramref name="subjectKey"/>: subject CN <paramref name="commonName"/>,
    /// key usages and EKU by <paramref name="purpose"/>, <paramref name="dnsNames"/> and
    /// <paramref name="ipAddresses"/> as SANs. The validity never outlasts the CA's.
    /// </summary>
    public X509Certificate2 Issue(
        PublicKey subjectKey, string commonName, CertificatePurpose purpose, DateTimeOffset notBefore, DateTimeOffset notAfter, byte[] serial,
        IReadOnlyCollection<string>? dnsNames = null, IReadOnlyCollection<System.Net.IPAddress>? ipAddresses = null)
    {
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }

        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(commonName);
        var request = new CertificateRequest(name.Build(), subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        var usages = subjectKey.Oid.Value == "1.2.840.113549.1.1.1"
            ? X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment
            : X509KeyUsageFlags.DigitalSignature;
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usages, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([purpose == CertificatePurpose.Client ? ClientAuth : ServerAuth], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(subjectKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (dnsNames is { Count: > 0 } || ipAddresses is { Count: > 0 })
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (var dns in dnsNames ?? [])
            {
                names.AddDnsName(dns);
            }

            foreach (var ip in ipAddresses ?? [])
            {
                names.AddIpAddress(ip);
            }

            request.CertificateExtensions.Add(names.Build());
        }

        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), notBefore, notAfter, serial);
    }

    /// <summary>
    /// The CRL listing <paramref name="revoked"/>, numbered <paramref name="crlNumber"/> (the caller
    /// keeps it increasing), valid from <paramref name="thisUpdate"/> to <paramref name="nextUpdate"/>.
    /// </summary>
    public byte[] BuildCrl(IEnumerable<RevokedSerial> revoked, long crlNumber, DateTimeOffset thisUpdate, DateTimeOffset nextUpdate)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var entry in revoked)
        {
            builder.AddEntry(Serials.ToBytes(entry.Serial), entry.RevokedAt, entry.Reason);
        }

        var authorityKeyId = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false);
        return builder.Build(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), new BigInteger(crlNumber), nextUpdate, HashAlgorithmName.SHA256, authorityKeyId, thisUpdate);
    }

    /// <summary>A fresh random positive serial of <see cref="SerialBytes"/> significant bytes, DER-minimal.</summary>
    public static byte[] NewSerial()
    {
        var random = RandomNumberGenerator.GetBytes(SerialBytes);
        // A leading zero byte would make the encoding non-minimal (or shorter than 128 bits).
        if (random[0] == 0)
        {
            random[0] = 1;
        }

        // The high bit set would read as negative: a zero byte in front keeps it positive.
        return random[0] >= 0x80 ? [0, .. random] : random;
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}

/// <summary>How serials are written: upper-case hex without separators or leading zero bytes, as <c>openssl x509 -serial</c> prints them.</summary>
public static class Serials
{
    public static string ToText(ReadOnlySpan<byte> serial)
    {
        while (serial.Length > 1 && serial[0] == 0)
        {
            serial = serial[1..];
        }

        return Convert.ToHexString(serial);
    }

    /// <summary>Normalizes what a person or a gateway typed (any case, colons, a <c>0x</c> prefix); null when it is not a serial.</summary>
    public static string? Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var cleaned = text.Trim().Replace(":", "", StringComparison.Ordinal);
        if (cleaned.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            cleaned = cleaned[2..];
        }

        if (cleaned.Length is 0 or > 40 || !cleaned.All(char.IsAsciiHexDigit))
        {
            return null;
        }

        cleaned = cleaned.TrimStart('0');
        if (cleaned.Length == 0)
        {
            return null;
        }

        return (cleaned.Length % 2 == 1 ? "0" + cleaned : cleaned).ToUpperInvariant();
    }

    /// <summary>The DER content bytes of a normalized serial (a zero byte in front when the high bit is set).</summary>
    public static byte[] ToBytes(string serial)
    {
        var bytes = Convert.FromHexString(serial);
        return bytes[0] >= 0x80 ? [0, .. bytes] : bytes;
    }
}

/// <summary>Reads a PKCS#10 request and applies the policy of what a requester may ask for.</summary>
public static class SigningRequests
{
    /// <summary>The outcome of reading a CSR: the key to certify and the names it asks for, or why it is refused.</summary>
    public sealed record Parsed(PublicKey? PublicKey, string? CommonName, IReadOnlyList<string> DnsNames, IReadOnlyList<System.Net.IPAddress> IpAddresses, string? Error);

    /// <summary>
    /// Parses a PEM CSR and checks its self-signature (proof that the requester holds the key).
    /// Accepts ECDSA P-256/P-384 and RSA of at least 2048 bits.
    /// </summary>
    public static Parsed Read(string pem)
    {
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or AsnContentException)
        {
            return Refused("not a valid PEM certificate signing request, or its signature does not verify");
        }

        var key = request.PublicKey;
        if (!AcceptableKey(key))
        {
            return Refused("the key must be ECDSA P-256 or P-384, or RSA of at least 2048 bits");
        }

        var dns = new List<string>();
        var ips = new List<System.Net.IPAddress>();
        foreach (var extension in request.CertificateExtensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                dns.AddRange(san.EnumerateDnsNames());
                ips.AddRange(san.EnumerateIPAddresses());
            }
            else if (extension.Oid?.Value == "2.5.29.17")
            {
                var parsed = new X509SubjectAlternativeNameExtension(extension.RawData);
                dns.AddRange(parsed.EnumerateDnsNames());
                ips.AddRange(parsed.EnumerateIPAddresses());
            }
        }

        var commonName = request.SubjectName.EnumerateRelativeDistinguishedNames()
            .Where(r => r.GetSingleElementType().Value == "2.5.4.3").Select(r => r.GetSingleElementValue()).FirstOrDefault();
        return new Parsed(key, commonName, dns, ips, null);
    }

    private static bool AcceptableKey(PublicKey key)
    {
        if (key.GetECDsaPublicKey() is { } ec)
        {
            using (ec)
            {
                var curve = ec.ExportParameters(false).Curve;
                return curve.Oid.Value is "1.2.840.10045.3.1.7" or "1.3.132.0.34";
            }
        }

        if (key.GetRSAPublicKey() is { } rsa)
        {
            using (rsa)
            {
                return rsa.KeySize >= 2048;
            }
        }

        return false;
    }

    private static Parsed Refused(string reason) => new(null, null, [], [], reason);
}
