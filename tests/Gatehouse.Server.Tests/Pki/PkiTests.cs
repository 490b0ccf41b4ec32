using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Pki;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Pki;

public sealed class PkiTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task The_ca_and_crl_are_public_per_organization_by_id_or_slug()
    {
        var slug = "pki-" + Guid.NewGuid().ToString("N")[..8];
        var created = await _server.Root.PostAsync("/api/v1/orgs", new { name = "PKI Org", slug });
        var orgId = created.Str("id");

        var ca = await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={orgId}");
        ca.StatusCode.ShouldBe(200, ca.Text);
        ca.ContentHeaders.ContentType!.MediaType.ShouldBe("application/x-pem-file");
        using var caCert = X509Certificate2.CreateFromPem(ca.Text);
        caCert.GetECDsaPublicKey()!.KeySize.ShouldBe(256);
        caCert.Subject.ShouldContain(orgId);
        (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={slug}")).Text.ShouldBe(ca.Text);

        var der = await GetBytesAsync($"/api/v1/pki/crl?org={slug}");
        der.ContentType.ShouldBe("application/pkix-crl");
        CertificateRevocationListBuilder.Load(der.Bytes, out var number);
        number.ShouldBe(1);
        var pem = await _server.Anonymous.GetAsync($"/api/v1/pki/crl.pem?org={orgId}");
        pem.Text.ShouldStartWith("-----BEGIN X509 CRL-----");

        var other = await _server.CreateOrgAsync();
        (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={other}")).Text.ShouldNotBe(ca.Text);

        // The CA was created once, on first use, and audited.
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=pki.ca_create");
        audit.Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task A_public_route_without_an_organization_is_400_and_an_unknown_one_404()
    {
        (await _server.Anonymous.GetAsync("/api/v1/pki/ca.pem")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Anonymous.GetAsync("/api/v1/pki/crl?org=no-such-org")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Anonymous.GetAsync("/api/v1/pki/crl.pem?org=org_00000000000000000000000000")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Anonymous.GetAsync("/api/v1/pki/check/ABCD?org=no-such-org")).ErrorCode.ShouldBe("NOT_FOUND");
        var orgId = await _server.CreateOrgAsync();
        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/not-hex?org={orgId}")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={orgId}&extra=1")).ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task A_revoked_certificate_is_listed_in_the_next_crl_and_openssl_refuses_it()
    {
        var orgId = await _server.CreateOrgAsync();
        var good = await IssueClientAsync(orgId, "good-user");
        var bad = await IssueClientAsync(orgId, "bad-user");
        var admin = await _server.OrgClientAsync(orgId, "pki:write");

        var check = await _server.Anonymous.GetAsync($"/api/v1/pki/check/{bad.Serial.ToLowerInvariant()}?org={orgId}");
        check.StatusCode.ShouldBe(200);
        check.Str("status").ShouldBe("good");
        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/0ABC?org={orgId}")).Str("status").ShouldBe("unknown");

        var revoked = await admin.PostAsync($"/api/v1/orgs/{orgId}/admin/pki/revoke", new { serial = bad.Serial, reason = "keyCompromise" });
        revoked.StatusCode.ShouldBe(200, revoked.Text);
        revoked.Str("status").ShouldBe("revoked");
        revoked.Str("reason").ShouldBe("key_compromise");
        revoked.Data.GetProperty("crl_number").GetInt64().ShouldBe(2);

        check = await _server.Anonymous.GetAsync($"/api/v1/pki/check/{bad.Serial}?org={orgId}");
        check.Str("status").ShouldBe("revoked");
        check.Str("reason").ShouldBe("key_compromise");
        check.Data.TryGetProperty("revoked_at", out _).ShouldBeTrue();

        var dir = Directory.CreateTempSubdirectory("gatehouse-pki-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={orgId}")).Text);
            await File.WriteAllTextAsync(Path.Combine(dir, "crl.pem"), (await _server.Anonymous.GetAsync($"/api/v1/pki/crl.pem?org={orgId}")).Text);
            await File.WriteAllBytesAsync(Path.Combine(dir, "crl.der"), (await GetBytesAsync($"/api/v1/pki/crl?org={orgId}")).Bytes);
            await File.WriteAllTextAsync(Path.Combine(dir, "good.pem"), good.CertificatePem);
            await File.WriteAllTextAsync(Path.Combine(dir, "bad.pem"), bad.CertificatePem);

            var (ok, output) = await OpensslAsync(dir, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "good.pem");
            ok.ShouldBeTrue(output);
            (ok, output) = await OpensslAsync(dir, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "bad.pem");
            ok.ShouldBeFalse(output);
            output.ShouldContain("certificate revoked");
            (ok, output) = await OpensslAsync(dir, "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", "-CAfile", "ca.pem");
            ok.ShouldBeTrue(output);
            output.ShouldContain("verify OK");
            output.ShouldContain(bad.Serial);
            output.ShouldNotContain(good.Serial);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var again = await admin.PostAsync($"/api/v1/orgs/{orgId}/admin/pki/revoke", new { serial = bad.Serial, reason = "superseded" });
        again.ErrorCode.ShouldBe("CONFLICT");
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=pki.revoke");
        audit.Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Revocation_errors_answer_with_their_codes_and_change_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var cert = await IssueClientAsync(orgId, "someone");
        var admin = await _server.OrgClientAsync(orgId, "pki:write");
        var path = $"/api/v1/orgs/{orgId}/admin/pki/revoke";

        (await admin.PostAsync(path, new { serial = "ABCDEF", reason = "superseded" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await admin.PostAsync(path, new { serial = cert.Serial, reason = "bored" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await admin.PostAsync(path, new { serial = "zz", reason = "superseded" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await admin.PostAsync(path, new { reason = "superseded" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await admin.PostAsync(path, new { serial = cert.Serial, reason = "superseded", note = "x" })).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Anonymous.PostAsync(path, new { serial = cert.Serial, reason = "superseded" })).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        var reader = await _server.OrgClientAsync(orgId, "pki:read");
        (await reader.PostAsync(path, new { serial = cert.Serial, reason = "superseded" })).ErrorCode.ShouldBe("FORBIDDEN");

        // Another organization's administrator: 404, whether it names this org or its own.
        var otherOrg = await _server.CreateOrgAsync();
        var stranger = await _server.OrgClientAsync(otherOrg, "pki:write");
        (await stranger.PostAsync(path, new { serial = cert.Serial, reason = "superseded" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await stranger.PostAsync($"/api/v1/orgs/{otherOrg}/admin/pki/revoke", new { serial = cert.Serial, reason = "superseded" })).ErrorCode.ShouldBe("NOT_FOUND");

        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/{cert.Serial}?org={orgId}")).Str("status").ShouldBe("good");
        CertificateRevocationListBuilder.Load((await GetBytesAsync($"/api/v1/pki/crl?org={orgId}")).Bytes, out var number);
        number.ShouldBe(1);
    }

    [Fact]
    public async Task The_gatekey_path_takes_the_organization_from_the_credential()
    {
        var orgId = await _server.CreateOrgAsync();
        var cert = await IssueClientAsync(orgId, "flat");
        var admin = await _server.OrgClientAsync(orgId, "pki:write");

        var revoked = await admin.PostAsync("/api/v1/admin/pki/revoke", new { serial = cert.Serial, reason = "cessation_of_operation" });

        revoked.StatusCode.ShouldBe(200, revoked.Text);
        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/{cert.Serial}?org={orgId}")).Str("status").ShouldBe("revoked");
    }

    [Fact]
    public async Task Concurrent_revocations_never_lose_an_entry_from_the_crl()
    {
        var orgId = await _server.CreateOrgAsync();
        var certs = new List<SignedCertificate>();
        for (var i = 0; i < 8; i++)
        {
            certs.Add(await IssueClientAsync(orgId, "user-" + i));
        }

        var admin = await _server.OrgClientAsync(orgId, "pki:write");
        var answers = await Task.WhenAll(certs.Select(c => admin.PostAsync($"/api/v1/orgs/{orgId}/admin/pki/revoke", new { serial = c.Serial, reason = "superseded" })));

        answers.Select(a => a.StatusCode).ShouldAllBe(s => s == 200);
        answers.Select(a => a.Data.GetProperty("crl_number").GetInt64()).Order().ShouldBe([2, 3, 4, 5, 6, 7, 8, 9]);
        var builder = CertificateRevocationListBuilder.Load((await GetBytesAsync($"/api/v1/pki/crl?org={orgId}")).Bytes, out var number);
        number.ShouldBe(9);
        foreach (var cert in certs)
        {
            builder.RemoveEntry(Serials.ToBytes(cert.Serial)).ShouldBeTrue($"{cert.Serial} is missing from the CRL");
        }
    }

    /// <summary>Issues a client certificate the way the VPN config service will: through the feature's service, in a change set.</summary>
    internal static async Task<SignedCertificate> IssueClientAsync(GatehouseServer server, string orgId, string commonName, string? ownerId = null)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
        var authorities = scope.ServiceProvider.GetRequiredService<OrgCertificateAuthorities>();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return await changes.RunAsync(ct => authorities.IssueAsync(db, orgId, publicKey, commonName, CertificatePurpose.Client, TimeSpan.FromHours(24), ownerId, null, null, ct),
            CancellationToken.None);
    }

    private Task<SignedCertificate> IssueClientAsync(string orgId, string commonName) => IssueClientAsync(_server, orgId, commonName);

    private async Task<(byte[] Bytes, string? ContentType)> GetBytesAsync(string path)
    {
        using var response = await _server.Anonymous.Http.GetAsync(path);
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        return (await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    internal static async Task<(bool Ok, string Output)> OpensslAsync(string directory, params string[] arguments)
    {
        var openssl = ExternalTools.FindOnPath("openssl") ?? throw new InvalidOperationException("openssl (Debian package openssl) must be installed for the PKI tests.");
        var start = new ProcessStartInfo(openssl, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode == 0, await output + await errors);
    }
}
