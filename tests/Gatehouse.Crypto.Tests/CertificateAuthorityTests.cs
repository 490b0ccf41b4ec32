using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Crypto.Tests;

public sealed class CertificateAuthorityTests : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly CertificateAuthority _ca = CertificateAuthority.Create("Acme", "org_test", Now, TimeSpan.FromDays(3650));
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-pki-").FullName;

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_ca_is_a_p256_ca_that_signs_certificates_and_crls()
    {
        var cert = _ca.Certificate;
        cert.GetECDsaPublicKey()!.KeySize.ShouldBe(256);
        var constraints = cert.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        constraints.CertificateAuthority.ShouldBeTrue();
        constraints.Critical.ShouldBeTrue();
        var usage = cert.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages;
        usage.HasFlag(X509KeyUsageFlags.KeyCertSign).ShouldBeTrue();
        usage.HasFlag(X509KeyUsageFlags.CrlSign).ShouldBeTrue();
        cert.Subject.ShouldContain("CN=Acme CA");
        cert.Subject.ShouldContain("OU=org_test");
    }

    [Fact]
    public void A_loaded_ca_is_the_same_ca_and_a_foreign_key_is_refused()
    {
        var pkcs8 = _ca.ExportPrivateKey();
        using var loaded = CertificateAuthority.Load(_ca.Certificate.RawData, pkcs8);
        loaded.Certificate.Thumbprint.ShouldBe(_ca.Certificate.Thumbprint);

        using var other = CertificateAuthority.Create("Other", "org_other", Now, TimeSpan.FromDays(1));
        Should.Throw<CryptographicException>(() => CertificateAuthority.Load(_ca.Certificate.RawData, other.ExportPrivateKey()));
    }

    [Fact]
    public void Serials_are_positive_128_bit_and_distinct()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 500; i++)
        {
            var serial = CertificateAuthority.NewSerial();
            (serial[0] & 0x80).ShouldBe(0);
            var text = Serials.ToText(serial);
            text.Length.ShouldBe(32);
            seen.Add(text).ShouldBeTrue();
            Serials.ToBytes(text).ShouldBe(serial);
        }
    }

    [Theory]
    [InlineData("0a:bc:DE", "0ABCDE")]
    [InlineData("0xABCDEF", "ABCDEF")]
    [InlineData("00ff", "FF")]
    [InlineData("abc", "0ABC")]
    [InlineData("", null)]
    [InlineData("xyz", null)]
    [InlineData("0000", null)]
    public void Serials_normalize_what_people_type(string typed, string? expected) =>
        Serials.Normalize(typed).ShouldBe(expected);

    [Fact]
    public void Client_and_server_certificates_carry_the_right_usages()
    {
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var client = _ca.Issue(PublicKeyOf(clientKey), "alice@example.org", CertificatePurpose.Client, Now, Now.AddHours(24), CertificateAuthority.NewSerial());
        client.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages[0]!.Value.ShouldBe("1.3.6.1.5.5.7.3.2");
        client.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.ShouldBeFalse();
        client.Issuer.ShouldBe(_ca.Certificate.Subject);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = _ca.Issue(PublicKeyOf(serverKey), "vpn.example.org", CertificatePurpose.Server, Now, Now.AddDays(30), CertificateAuthority.NewSerial(), ["vpn.example.org"]);
        server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages[0]!.Value.ShouldBe("1.3.6.1.5.5.7.3.1");
        server.MatchesHostname("vpn.example.org").ShouldBeTrue();
    }

    [Fact]
    public void A_certificate_never_outlives_its_ca()
    {
        using var shortCa = CertificateAuthority.Create("Short", "org_short", Now, TimeSpan.FromDays(2));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = shortCa.Issue(PublicKeyOf(key), "x", CertificatePurpose.Client, Now, Now.AddDays(30), CertificateAuthority.NewSerial());
        cert.NotAfter.ShouldBeLessThanOrEqualTo(shortCa.Certificate.NotAfter);
    }

    [Fact]
    public void A_signing_request_yields_its_key_and_names_and_a_forged_one_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = Csr(key, "gw.example.org", ["gw.example.org"], [IPAddress.Parse("10.0.0.1")]);
        var parsed = SigningRequests.Read(pem);
        parsed.Error.ShouldBeNull();
        parsed.CommonName.ShouldBe("gw.example.org");
        parsed.DnsNames.ShouldBe(["gw.example.org"]);
        parsed.IpAddresses.ShouldBe([IPAddress.Parse("10.0.0.1")]);

        SigningRequests.Read("not a csr").Error.ShouldNotBeNull();

        // One flipped byte inside the signed part: the self-signature no longer verifies.
        var der = PemEncoding.Find(pem) is var fields ? Convert.FromBase64String(pem[fields.Base64Data]) : [];
        der[40] ^= 0x01;
        SigningRequests.Read(PemEncoding.WriteString("CERTIFICATE REQUEST", der)).Error.ShouldNotBeNull();

        using var weak = RSA.Create(1024);
        var weakRequest = new CertificateRequest("CN=weak", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        SigningRequests.Read(weakRequest.CreateSigningRequestPem()).Error.ShouldNotBeNull();
    }

    [Fact]
    public void A_crl_has_its_number_and_entries()
    {
        var serial = Serials.ToText(CertificateAuthority.NewSerial());
        var der = _ca.BuildCrl([new RevokedSerial(serial, Now, X509RevocationReason.KeyCompromise)], 7, Now, Now.AddHours(24));
        var builder = CertificateRevocationListBuilder.Load(der, out var number);
        number.ShouldBe(7);
        var empty = CertificateRevocationListBuilder.Load(_ca.BuildCrl([], 8, Now, Now.AddHours(24)), out var next);
        next.ShouldBe(8);
        builder.RemoveEntry(Serials.ToBytes(serial)).ShouldBeTrue();
        empty.RemoveEntry(Serials.ToBytes(serial)).ShouldBeFalse();
    }

    [Fact]
    public async Task Openssl_accepts_a_good_certificate_and_refuses_a_revoked_one()
    {
        var openssl = FindOpenssl();
        using var goodKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var good = _ca.Issue(PublicKeyOf(goodKey), "good", CertificatePurpose.Client, Now.AddMinutes(-1), Now.AddHours(24), CertificateAuthority.NewSerial());
        using var badKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var bad = _ca.Issue(PublicKeyOf(badKey), "bad", CertificatePurpose.Client, Now.AddMinutes(-1), Now.AddHours(24), CertificateAuthority.NewSerial());
        var crl = _ca.BuildCrl([new RevokedSerial(Serials.ToText(bad.SerialNumberBytes.Span), Now.AddSeconds(-1), X509RevocationReason.KeyCompromise)], 3, Now.AddMinutes(-1), Now.AddHours(24));

        Write("ca.pem", _ca.CertificatePem);
        Write("good.pem", good.ExportCertificatePem());
        Write("bad.pem", bad.ExportCertificatePem());
        Write("crl.pem", PemEncoding.WriteString("X509 CRL", crl));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "crl.der"), crl, TestContext.Current.CancellationToken);

        var (ok, output) = await RunAsync(openssl, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslclient", "good.pem");
        ok.ShouldBeTrue(output);
        (ok, output) = await RunAsync(openssl, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "bad.pem");
        ok.ShouldBeFalse(output);
        output.ShouldContain("certificate revoked");

        (ok, output) = await RunAsync(openssl, "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text");
        ok.ShouldBeTrue(output);
        output.ShouldContain("X509v3 CRL Number: \n                3", Case.Insensitive);
        output.ShouldContain(Serials.ToText(bad.SerialNumberBytes.Span));
        output.ShouldContain("Key Compromise");
    }

    [Fact]
    public async Task Openssl_accepts_a_server_certificate_for_its_hostname_only()
    {
        var openssl = FindOpenssl();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = _ca.Issue(PublicKeyOf(key), "gw.example.org", CertificatePurpose.Server, Now.AddMinutes(-1), Now.AddDays(30), CertificateAuthority.NewSerial(), ["gw.example.org"]);
        Write("ca.pem", _ca.CertificatePem);
        Write("server.pem", server.ExportCertificatePem());

        var (ok, output) = await RunAsync(openssl, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "-verify_hostname", "gw.example.org", "server.pem");
        ok.ShouldBeTrue(output);
        (ok, output) = await RunAsync(openssl, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "-verify_hostname", "other.example.org", "server.pem");
        ok.ShouldBeFalse(output);
        (ok, output) = await RunAsync(openssl, "verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "server.pem");
        ok.ShouldBeFalse(output);
    }

    internal static PublicKey PublicKeyOf(ECDsa key) => PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);

    internal static string Csr(ECDsa key, string commonName, IEnumerable<string> dns, IEnumerable<IPAddress> ips)
    {
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dns)
        {
            names.AddDnsName(name);
        }

        foreach (var ip in ips)
        {
            names.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(names.Build());
        return request.CreateSigningRequestPem();
    }

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir, name), text);

    private static string FindOpenssl() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, "openssl")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("openssl (Debian package openssl) must be installed for the PKI tests.");

    private async Task<(bool Ok, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode == 0, await output + await errors);
    }
}
