using System.Globalization;
using Gatehouse.Server.Features.Pki;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Pki;

/// <summary>The <c>pki-crl-refresh</c> job re-signs a CRL before its <c>nextUpdate</c>, on the server's clock the test moves.</summary>
public sealed class CrlRefreshTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeClock _clock = new(Start);
    private GatehouseServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await GatehouseServer.StartAsync(new ServerOptions { Clock = _clock });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Near_next_update_the_job_re_signs_the_crl_with_the_next_number_and_the_same_entries()
    {
        var orgId = await _server.CreateOrgAsync();
        var revoked = await PkiTests.IssueClientAsync(_server, orgId, "revoked-user");
        var good = await PkiTests.IssueClientAsync(_server, orgId, "good-user");
        var admin = await _server.OrgClientAsync(orgId, "pki:write");
        (await admin.PostAsync($"/api/v1/orgs/{orgId}/admin/pki/revoke", new { serial = revoked.Serial, reason = "key_compromise" })).StatusCode.ShouldBe(200);
        var job = _server.Services.GetRequiredService<CrlRefresh>();

        var first = await CrlAsync(orgId);
        first.Number.ShouldBe("02");
        first.LastUpdate.ShouldBe(Start);
        first.NextUpdate.ShouldBe(Start.AddHours(24));
        first.Text.ShouldContain(revoked.Serial);

        // Fresh: a pass finds nothing due and the CRL is the same one.
        (await job.RunNowAsync(CancellationToken.None)).ShouldBeTrue();
        (await CrlAsync(orgId)).Number.ShouldBe("02");

        // An hour before nextUpdate (past halfway): re-signed, number up, nextUpdate a full validity ahead, the entry kept.
        _clock.Advance(TimeSpan.FromHours(23));
        (await job.RunNowAsync(CancellationToken.None)).ShouldBeTrue();
        var refreshed = await CrlAsync(orgId);
        refreshed.Number.ShouldBe("03");
        refreshed.LastUpdate.ShouldBe(Start.AddHours(23));
        refreshed.NextUpdate.ShouldBe(Start.AddHours(23 + 24));
        refreshed.Text.ShouldContain(revoked.Serial);
        refreshed.Text.ShouldContain("Key Compromise");
        refreshed.Text.ShouldNotContain(good.Serial);

        // openssl still refuses the revoked certificate with the re-signed CRL and accepts the good one.
        var dir = Directory.CreateTempSubdirectory("gatehouse-crl-refresh-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={orgId}")).Text);
            await File.WriteAllTextAsync(Path.Combine(dir, "crl.pem"), (await _server.Anonymous.GetAsync($"/api/v1/pki/crl.pem?org={orgId}")).Text);
            await File.WriteAllTextAsync(Path.Combine(dir, "good.pem"), good.CertificatePem);
            await File.WriteAllTextAsync(Path.Combine(dir, "revoked.pem"), revoked.CertificatePem);
            var at = Start.AddHours(23).AddMinutes(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var (ok, output) = await PkiTests.OpensslAsync(dir, "verify", "-attime", at, "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "good.pem");
            ok.ShouldBeTrue(output);
            (ok, output) = await PkiTests.OpensslAsync(dir, "verify", "-attime", at, "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "revoked.pem");
            ok.ShouldBeFalse(output);
            output.ShouldContain("certificate revoked");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // Right after the refresh nothing is due again.
        (await job.RunNowAsync(CancellationToken.None)).ShouldBeTrue();
        (await CrlAsync(orgId)).Number.ShouldBe("03");
    }

    private sealed record ParsedCrl(string Number, DateTimeOffset LastUpdate, DateTimeOffset NextUpdate, string Text);

    /// <summary>The DER CRL as openssl reads it (and checks its signature against the CA).</summary>
    private async Task<ParsedCrl> CrlAsync(string orgId)
    {
        var dir = Directory.CreateTempSubdirectory("gatehouse-crl-").FullName;
        try
        {
            using var response = await _server.Anonymous.Http.GetAsync($"/api/v1/pki/crl?org={orgId}", TestContext.Current.CancellationToken);
            ((int)response.StatusCode).ShouldBe(200);
            await File.WriteAllBytesAsync(Path.Combine(dir, "crl.der"), await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
            await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), (await _server.Anonymous.GetAsync($"/api/v1/pki/ca.pem?org={orgId}")).Text);
            var (ok, text) = await PkiTests.OpensslAsync(dir, "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", "-CAfile", "ca.pem");
            ok.ShouldBeTrue(text);
            text.ShouldContain("verify OK");
            var (fieldsOk, fields) = await PkiTests.OpensslAsync(dir, "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-crlnumber", "-lastupdate", "-nextupdate");
            fieldsOk.ShouldBeTrue(fields);
            var values = fields.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            return new ParsedCrl(values["crlNumber"].Replace("0x", "", StringComparison.Ordinal), OpensslTime(values["lastUpdate"]), OpensslTime(values["nextUpdate"]), text);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>openssl prints times as <c>Nov 23 10:00:00 2026 GMT</c> (the day padded with a space).</summary>
    private static DateTimeOffset OpensslTime(string text) =>
        DateTimeOffset.ParseExact(string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries)), "MMM d HH:mm:ss yyyy 'GMT'",
            CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
