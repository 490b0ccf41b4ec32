namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class VerifyApiKeyTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_good_key_is_VALID_with_its_data()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "svc", permissions = new[] { "docs:read" }, ownerId = "u1", meta = new { plan = "pro" } });
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");

        var response = await verifier.VerifyAsync(new { key });

        response.StatusCode.ShouldBe(200, response.Text);
        response.Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
        response.Code().ShouldBe("VALID");
        response.Str("keyId").ShouldBe(id);
        response.Str("orgId").ShouldBe(orgId);
        response.Str("name").ShouldBe("svc");
        response.Str("ownerId").ShouldBe("u1");
        response.Data.GetProperty("meta").GetProperty("plan").GetString().ShouldBe("pro");
        response.Data.GetProperty("permissions").Strings().ShouldBe(["docs:read"]);
        response.Data.GetProperty("remaining").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("gk_1111111111111111111111115JWJNM")]
    [InlineData("gk_18uEYg7a7p8DdMuZugMSsYkUUiRiLz2GBu8Xa")]
    public async Task Malformed_mistyped_or_unknown_keys_are_NOT_FOUND_with_no_key_data(string key)
    {
        var response = await _server.Root.VerifyAsync(new { key = key.Length == 0 ? "x" : key });

        response.StatusCode.ShouldBe(200);
        response.Code().ShouldBe("NOT_FOUND");
        response.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        response.Data.EnumerateObject().Select(p => p.Name).ShouldBe(["valid", "code"], ignoreOrder: true);
    }

    [Fact]
    public async Task A_truncated_real_key_is_NOT_FOUND()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        (await _server.Root.VerifyAsync(new { key = key[..^1] })).Code().ShouldBe("NOT_FOUND");
        (await _server.Root.VerifyAsync(new { key = key[..^1] + (key[^1] == 'a' ? 'b' : 'a') })).Code().ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task A_key_of_another_org_is_NOT_FOUND_exactly_like_a_random_one_and_nothing_is_spent()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (idB, keyB) = await _server.CreateKeyAsync(orgB, new { name = "b", permissions = Array.Empty<string>(), remaining = 3 });
        var verifierA = await _server.OrgClientAsync(orgA, "api_keys:verify");

        var foreign = await verifierA.VerifyAsync(new { key = keyB });
        var random = await verifierA.VerifyAsync(new { key = Gatehouse.Crypto.ApiKeyFormat.Generate("gk") });

        foreign.Data.GetRawText().ShouldBe(random.Data.GetRawText());
        foreign.Code().ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/api-keys/{idB}")).Data.GetProperty("remaining").GetInt64().ShouldBe(3);
        (await _server.Root.VerifyAsync(new { key = keyB })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task A_disabled_key_is_DISABLED()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), enabled = false });

        (await _server.Root.VerifyAsync(new { key })).Code().ShouldBe("DISABLED");
    }

    [Fact]
    public async Task Expired_key_verifies_as_EXPIRED()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), expiresAt = "2026-11-22T10:05:00Z" });
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        clock.Advance(TimeSpan.FromMinutes(5));

        var response = await server.Root.VerifyAsync(new { key });
        response.Code().ShouldBe("EXPIRED");
        response.Str("expiresAt").ShouldBe("2026-11-22T10:05:00Z");
    }

    [Theory]
    [InlineData("10.1.2.3", "VALID")]
    [InlineData("10.255.255.255", "VALID")]
    [InlineData("11.0.0.1", "FORBIDDEN")]
    [InlineData("192.168.1.77", "VALID")]
    [InlineData("192.168.2.1", "FORBIDDEN")]
    [InlineData("2001:db8::1", "VALID")]
    [InlineData("2001:db9::1", "FORBIDDEN")]
    [InlineData("::ffff:10.0.0.1", "VALID")]
    [InlineData(null, "FORBIDDEN")]
    public async Task The_ip_allowlist_is_checked_against_the_request_ip(string? ip, string code)
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), ipAllowlist = new[] { "10.0.0.0/8", "192.168.1.77", "2001:db8::/32" } });

        (await _server.Root.VerifyAsync(new { key, ip })).Code().ShouldBe(code);
    }

    [Fact]
    public async Task Role_permissions_count_and_missing_ones_are_INSUFFICIENT_PERMISSIONS()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "editor", permissions = new[] { "docs:*" } });
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "billing:read" }, roles = new[] { "editor" } });

        (await _server.Root.VerifyAsync(new { key, permissions = "docs:write AND billing:read" })).Code().ShouldBe("VALID");
        (await _server.Root.VerifyAsync(new { key, permissions = "billing:write" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        (await _server.Root.VerifyAsync(new { key, permissions = "billing:write OR (docs:delete AND billing:read)" })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task A_role_change_reaches_a_cached_key_on_the_next_verify()
    {
        var orgId = await _server.CreateOrgAsync();
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "editor", permissions = new[] { "docs:read" } });
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), roles = new[] { "editor" } });
        (await _server.Root.VerifyAsync(new { key, permissions = "docs:write" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{role.Str("id")}", new { permissions = new[] { "docs:write" } });

        (await _server.Root.VerifyAsync(new { key, permissions = "docs:write" })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task The_checks_run_in_order_and_stop_at_the_first_failure()
    {
        var orgId = await _server.CreateOrgAsync();
        // Disabled, outside the allowlist, lacking the permission, and out of credits: DISABLED wins.
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), enabled = false, ipAllowlist = new[] { "10.0.0.0/8" }, remaining = 0 });
        var path = $"/api/v1/orgs/{orgId}/api-keys/{id}";
        var request = new { key, ip = "8.8.8.8", permissions = "p" };

        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("DISABLED");
        await _server.Root.PatchAsync(path, new { enabled = true });
        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("FORBIDDEN");
        await _server.Root.PatchAsync(path, new { ipAllowlist = Array.Empty<string>() });
        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        await _server.Root.PatchAsync(path, new { permissions = new[] { "p" }, ratelimits = new[] { new { name = "tiny", limit = 1, durationMs = 60000 } } });
        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("USAGE_EXCEEDED");
        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("RATE_LIMITED");
        await _server.Root.DeleteAsync(path);
        (await _server.Root.VerifyAsync(request)).Code().ShouldBe("REVOKED");
    }

    [Fact]
    public async Task Only_a_valid_verification_spends_credits()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = new[] { "p" }, remaining = 5 });

        (await _server.Root.VerifyAsync(new { key, permissions = "q" })).Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        var spent = await _server.Root.VerifyAsync(new { key, cost = 3 });
        var tooMuch = await _server.Root.VerifyAsync(new { key, cost = 3 });
        var free = await _server.Root.VerifyAsync(new { key, cost = 0 });

        spent.Code().ShouldBe("VALID");
        spent.Data.GetProperty("remaining").GetInt64().ShouldBe(2);
        tooMuch.Code().ShouldBe("USAGE_EXCEEDED");
        tooMuch.Data.GetProperty("remaining").GetInt64().ShouldBe(2);
        free.Code().ShouldBe("VALID");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(2);
    }

    [Fact]
    public async Task A_cost_0_verify_checks_everything_and_consumes_neither_credits_nor_rate_limits()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new
        {
            name = "k",
            permissions = new[] { "p" },
            remaining = 1,
            ratelimits = new[] { new { name = "requests", limit = 1, durationMs = 3_600_000 } },
        });

        var dryRuns = new List<ApiResponse>();
        for (var i = 0; i < 3; i++)
        {
            dryRuns.Add(await _server.Root.VerifyAsync(new { key, permissions = "p", cost = 0 }));
        }

        var denied = await _server.Root.VerifyAsync(new { key, permissions = "q", cost = 0 });
        var real = await _server.Root.VerifyAsync(new { key, cost = 1 });
        var afterLimit = await _server.Root.VerifyAsync(new { key, cost = 0 });

        foreach (var dryRun in dryRuns)
        {
            dryRun.Code().ShouldBe("VALID", dryRun.Text);
            dryRun.Data.GetProperty("remaining").GetInt64().ShouldBe(1);
            dryRun.Data.GetProperty("ratelimits")[0].GetProperty("remaining").GetInt64().ShouldBe(1);
            dryRun.Data.GetProperty("ratelimits")[0].GetProperty("exceeded").GetBoolean().ShouldBeFalse();
            dryRun.Data.GetProperty("ratelimits")[0].GetProperty("resetAt").GetString()!.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$");
        }

        denied.Code().ShouldBe("INSUFFICIENT_PERMISSIONS");
        real.Code().ShouldBe("VALID", real.Text);
        real.Data.GetProperty("remaining").GetInt64().ShouldBe(0);
        afterLimit.Code().ShouldBe("RATE_LIMITED", afterLimit.Text);
        afterLimit.Data.GetProperty("ratelimits")[0].GetProperty("exceeded").GetBoolean().ShouldBeTrue();
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task A_cost_0_verify_of_a_key_without_credits_left_is_USAGE_EXCEEDED()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 0 });

        var dryRun = await _server.Root.VerifyAsync(new { key, cost = 0 });

        dryRun.Code().ShouldBe("USAGE_EXCEEDED", dryRun.Text);
        dryRun.Data.GetProperty("remaining").GetInt64().ShouldBe(0);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Data.GetProperty("remaining").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task Named_rate_limits_apply_with_their_costs_and_report_their_state()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new
        {
            name = "k",
            permissions = Array.Empty<string>(),
            ratelimits = new[] { new { name = "requests", limit = 5, durationMs = 60000 }, new { name = "tokens", limit = 100, durationMs = 60000 } },
        });

        var first = await _server.Root.VerifyAsync(new { key, ratelimits = new[] { new { name = "tokens", cost = 60 } } });
        var second = await _server.Root.VerifyAsync(new { key, ratelimits = new[] { new { name = "tokens", cost = 60 } } });
        var small = await _server.Root.VerifyAsync(new { key, ratelimits = new[] { new { name = "tokens", cost = 40 } } });

        first.Code().ShouldBe("VALID");
        var tokens = first.Data.GetProperty("ratelimits").EnumerateArray().Single(r => r.GetProperty("name").GetString() == "tokens");
        tokens.GetProperty("remaining").GetInt64().ShouldBe(40);
        tokens.GetProperty("limit").GetInt64().ShouldBe(100);
        tokens.GetProperty("durationMs").GetInt64().ShouldBe(60000);
        tokens.GetProperty("exceeded").GetBoolean().ShouldBeFalse();
        second.Code().ShouldBe("RATE_LIMITED");
        second.Data.GetProperty("ratelimits").EnumerateArray().ShouldContain(r => r.GetProperty("name").GetString() == "tokens" && r.GetProperty("exceeded").GetBoolean());
        small.Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task Every_limit_of_the_key_applies_even_when_the_request_names_none()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), ratelimits = new[] { new { name = "default", limit = 2, durationMs = 60000 } } });

        var codes = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            codes.Add((await _server.Root.VerifyAsync(new { key })).Code());
        }

        codes.ShouldBe(["VALID", "VALID", "RATE_LIMITED"]);
    }

    [Fact]
    public async Task Invalid_fields_are_422()
    {
        var response = await _server.Root.VerifyAsync(new { cost = -1, ip = "not-an-ip", ratelimits = new[] { new { name = "", cost = -2 } } });

        response.StatusCode.ShouldBe(422);
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe(["key", "cost", "ratelimits[0].name", "ip"], ignoreOrder: true);
    }

    [Fact]
    public async Task A_permission_query_syntax_error_is_400_with_the_position()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        var response = await _server.Root.VerifyAsync(new { key, permissions = "a AND (b OR" });

        response.StatusCode.ShouldBe(400);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("position").GetInt32().ShouldBe(11);
        response.Body.GetProperty("error").GetProperty("message").GetString()!.ShouldContain("position");
    }

    [Fact]
    public async Task Without_api_keys_verify_it_is_403_and_without_credential_401()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        var forbidden = await reader.VerifyAsync(new { key });
        var anonymous = await _server.Anonymous.VerifyAsync(new { key });

        forbidden.StatusCode.ShouldBe(403);
        forbidden.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("api_keys:verify");
        anonymous.StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Tags_are_accepted()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        (await _server.Root.VerifyAsync(new { key, tags = new { path = "/v1/things", region = "eu" } })).Code().ShouldBe("VALID");
    }
}
