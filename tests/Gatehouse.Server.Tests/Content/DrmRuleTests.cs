namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// DRM rules as recipients meet them: exact counters under concurrency, expiry, revocation,
/// address and country allow-lists (by test geo data behind a trusted proxy), consent and downloads.
/// Each refusal is 403 with its reason and an event.
/// </summary>
public sealed class DrmRuleTests : IAsyncLifetime
{
    private const string Netherlands = "203.0.113.7";
    private const string UnitedStates = "198.51.100.7";
    private GatehouseServer _server = null!;
    private string _geoFile = null!;

    public async ValueTask InitializeAsync()
    {
        _geoFile = Path.Combine(Path.GetTempPath(), $"gatehouse-geo-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(_geoFile, "203.0.113.0/24,NL\n198.51.100.0/24,US\n");
        _server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Gatehouse:Content:GeoIpCsv"] = _geoFile,
                ["Gatehouse:TrustedProxies"] = "127.0.0.1",
            },
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_geoFile);
    }

    [Fact]
    public async Task Max_opens_10_under_30_concurrent_opens_admits_exactly_10()
    {
        var file = await _server.ShareAsync(new { name = "ten", maxOpens = 10 });
        using var start = new SemaphoreSlim(0);

        var opens = Enumerable.Range(0, 30).Select(async _ =>
        {
            await start.WaitAsync(TestContext.Current.CancellationToken);
            return await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
        }).ToList();
        start.Release(30);
        var results = await Task.WhenAll(opens);

        results.Count(r => r.StatusCode == 200).ShouldBe(10);
        results.Where(r => r.StatusCode == 200).ShouldAllBe(r => r.Body.SequenceEqual(file.Content));
        results.Where(r => r.StatusCode != 200).ShouldAllBe(r => r.StatusCode == 403 && Reason(r.AsApi()) == "max_opens");
        var shares = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/shares");
        shares.Data[0].GetProperty("recipients")[0].GetProperty("opens").GetInt64().ShouldBe(10);
        var types = await _server.EventTypesAsync(file.OrgId);
        types.Count(t => t == "container.opened").ShouldBe(10);
        types.Count(t => t == "container.denied").ShouldBe(20);
    }

    [Fact]
    public async Task An_expired_rule_denies_with_expired_and_an_expired_event()
    {
        var file = await _server.ShareAsync(new { name = "past", expiresAt = DateTime.UtcNow.AddMinutes(-1) });

        var open = await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
        var view = await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}");

        open.StatusCode.ShouldBe(403, open.Text);
        open.ErrorCode.ShouldBe("FORBIDDEN");
        Reason(open).ShouldBe("expired");
        Reason(view).ShouldBe("expired");
        (await _server.EventTypesAsync(file.OrgId)).Count(t => t == "container.expired").ShouldBe(2);
    }

    [Fact]
    public async Task A_revoked_share_denies_at_the_next_open()
    {
        var file = await _server.ShareAsync(new { name = "revocable" });
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}")).StatusCode.ShouldBe(200);

        var revoked = await _server.Root.DeleteAsync($"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/shares/{file.ShareId}");
        var open = await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");

        revoked.StatusCode.ShouldBe(200, revoked.Text);
        open.StatusCode.ShouldBe(403);
        Reason(open).ShouldBe("revoked");
        var denied = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/events?type=container.denied");
        denied.Data[0].GetProperty("reason").GetString().ShouldBe("revoked");
        denied.Data[0].GetProperty("recipient").GetString().ShouldBe("reader@example.org");
    }

    [Fact]
    public async Task A_country_outside_the_allow_list_denies_and_one_inside_opens()
    {
        var file = await _server.ShareAsync(new { name = "nl only", allowedCountries = new[] { "nl" } });
        var path = $"/api/v1/shares/{file.Token}/files/{file.FileId}";

        var fromUs = await _server.Anonymous.GetAsync(path, new Dictionary<string, string> { ["X-Forwarded-For"] = UnitedStates });
        var fromNl = await _server.Anonymous.GetBytesAsync(path, new Dictionary<string, string> { ["X-Forwarded-For"] = Netherlands });
        var unknown = await _server.Anonymous.GetAsync(path);

        fromUs.StatusCode.ShouldBe(403, fromUs.Text);
        Reason(fromUs).ShouldBe("country");
        Reason(unknown).ShouldBe("country");
        fromNl.StatusCode.ShouldBe(200, fromNl.Text);
        var denied = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/events?type=container.denied");
        denied.Data.EnumerateArray().Select(e => e.GetProperty("country").GetString()).ShouldContain("US");
        var opened = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/events?type=container.opened");
        opened.Data[0].GetProperty("country").GetString().ShouldBe("NL");
        opened.Data[0].GetProperty("ip").GetString().ShouldBe(Netherlands);
    }

    [Fact]
    public async Task An_address_outside_the_allowed_ranges_denies()
    {
        var file = await _server.ShareAsync(new { name = "office", allowedIpRanges = new[] { "203.0.113.0/24" } });
        var path = $"/api/v1/shares/{file.Token}/files/{file.FileId}";

        var outside = await _server.Anonymous.GetAsync(path, new Dictionary<string, string> { ["X-Forwarded-For"] = UnitedStates });
        var inside = await _server.Anonymous.GetAsync(path, new Dictionary<string, string> { ["X-Forwarded-For"] = Netherlands });

        Reason(outside).ShouldBe("ip");
        inside.StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_rule_requiring_consent_denies_until_the_recipient_consents_and_again_after_withdrawal()
    {
        var file = await _server.ShareAsync(new { name = "consent", requireConsent = true });
        var path = $"/api/v1/shares/{file.Token}/files/{file.FileId}";

        var before = await _server.Anonymous.GetAsync(path);
        var view = await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}");
        var given = await _server.Anonymous.PostAsync($"/api/v1/shares/{file.Token}/consent", new { granted = true, policyVersion = "2026-01" });
        var after = await _server.Anonymous.GetAsync(path);
        var status = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/consents/status?subject=reader@example.org");
        await _server.Anonymous.PostAsync($"/api/v1/shares/{file.Token}/consent", new { granted = false });
        var withdrawn = await _server.Anonymous.GetAsync(path);

        Reason(before).ShouldBe("consent_required");
        view.StatusCode.ShouldBe(200, view.Text);
        view.Data.GetProperty("consentRequired").GetBoolean().ShouldBeTrue();
        view.Data.GetProperty("consentGiven").GetBoolean().ShouldBeFalse();
        given.StatusCode.ShouldBe(201, given.Text);
        after.StatusCode.ShouldBe(200);
        status.Data.GetProperty("purposes")[0].GetProperty("purpose").GetString().ShouldBe("content_access");
        status.Data.GetProperty("purposes")[0].GetProperty("policyVersion").GetString().ShouldBe("2026-01");
        Reason(withdrawn).ShouldBe("consent_required");
    }

    [Fact]
    public async Task Downloads_need_allow_download_and_count_against_max_downloads()
    {
        var blocked = await _server.ShareAsync(new { name = "view only" });
        var counted = await _server.ShareAsync(new { name = "one download", allowDownload = true, maxDownloads = 1 });

        var refused = await _server.Anonymous.GetAsync($"/api/v1/shares/{blocked.Token}/files/{blocked.FileId}?download=true");
        var first = await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{counted.Token}/files/{counted.FileId}?download=true");
        var second = await _server.Anonymous.GetAsync($"/api/v1/shares/{counted.Token}/files/{counted.FileId}?download=true");
        var open = await _server.Anonymous.GetAsync($"/api/v1/shares/{counted.Token}/files/{counted.FileId}");

        Reason(refused).ShouldBe("download_not_allowed");
        first.Body.ShouldBe(counted.Content);
        Reason(second).ShouldBe("max_downloads");
        open.StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Tightening_the_rule_applies_to_the_next_open()
    {
        var file = await _server.ShareAsync(new { name = "loose" });
        var path = $"/api/v1/shares/{file.Token}/files/{file.FileId}";
        (await _server.Anonymous.GetAsync(path)).StatusCode.ShouldBe(200);

        var replaced = await _server.Root.PutAsync($"/api/v1/orgs/{file.OrgId}/drm-rules/{file.RuleId}", new { name = "tight", maxOpens = 1 });
        var next = await _server.Anonymous.GetAsync(path);

        replaced.StatusCode.ShouldBe(200, replaced.Text);
        Reason(next).ShouldBe("max_opens");
    }

    [Fact]
    public async Task Unknown_and_malformed_tokens_and_files_answer_404()
    {
        var file = await _server.ShareAsync(new { name = "tokens" });

        (await _server.Anonymous.GetAsync("/api/v1/shares/gsh_nothing")).StatusCode.ShouldBe(404);
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token[..^2]}zz")).StatusCode.ShouldBe(404);
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}/files/file_missing")).StatusCode.ShouldBe(404);
        (await _server.Anonymous.PostAsync($"/api/v1/shares/{file.Token}/consent", new { })).StatusCode.ShouldBe(422);
    }

    private static string? Reason(ApiResponse response) =>
        response.Body.GetProperty("error").TryGetProperty("details", out var details) ? details.GetProperty("reason").GetString() : null;
}
