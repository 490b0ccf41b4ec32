using System.Diagnostics;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Users;

public sealed class LoginTests(SharedServer shared, ITestOutputHelper output)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_login_returns_the_user_a_new_session_and_a_token_that_works_as_bearer_and_cookie()
    {
        var orgId = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        var userId = await _server.CreateUserAsync(orgId, email, permissions: ["users:read"]);

        var login = await _server.LoginAsync(email.ToUpperInvariant());

        login.UserId.ShouldBe(userId);
        login.SessionId.ShouldStartWith("ses_");
        login.Token.ShouldStartWith("gks_");
        login.Token.Length.ShouldBeGreaterThanOrEqualTo(4 + 43);
        login.Response.Data.GetProperty("session").GetProperty("expiresAt").GetDateTime().ShouldBeGreaterThan(DateTime.UtcNow.AddHours(11));
        login.Response.Data.GetProperty("user").TryGetProperty("passwordHash", out _).ShouldBeFalse();

        var bearer = await _server.CookielessClient(login.Token).GetAsync("/api/v1/auth/session");
        bearer.StatusCode.ShouldBe(200, bearer.Text);
        bearer.Data.GetProperty("user").GetProperty("id").GetString().ShouldBe(userId);
        bearer.Data.GetProperty("session").GetProperty("id").GetString().ShouldBe(login.SessionId);
        bearer.Data.GetProperty("permissions").Strings().ShouldBe(["users:read"]);
        (await _server.CookielessClient(login.Token).GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);
        (await _server.CookielessClient(login.Token).GetAsync($"/api/v1/orgs/{orgId}/api-keys")).ErrorCode.ShouldBe("FORBIDDEN");

        var byCookie = await _server.SendWithCookieAsync(HttpMethod.Get, "/api/v1/auth/session", login.Token);
        byCookie.StatusCode.ShouldBe(200, byCookie.Text);

        var second = await _server.LoginAsync(email);
        second.SessionId.ShouldNotBe(login.SessionId);
        second.Token.ShouldNotBe(login.Token);

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=auth.login");
        audit.StatusCode.ShouldBe(200, audit.Text);
        audit.Data.EnumerateArray().Count(e => e.GetProperty("action").GetString() == "auth.login").ShouldBe(2);
        audit.Text.ShouldNotContain(UserSteps.Password);
        audit.Text.ShouldNotContain(login.Token);
    }

    [Fact]
    public async Task The_cookie_is_HttpOnly_SameSite_Lax_Path_root_and_Secure_except_on_plain_http_loopback()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:TrustedProxies"] = "127.0.0.1" } });
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        await server.CreateUserAsync(orgId, email);

        var loopback = await server.LoginAsync(email);
        var cookie = loopback.SetCookie.ShouldNotBeNull();
        cookie.ShouldStartWith($"__Host-gatehouse_session={loopback.Token}");
        cookie.ShouldContain("httponly", Case.Insensitive);
        cookie.ShouldContain("samesite=lax", Case.Insensitive);
        cookie.ShouldContain("path=/", Case.Insensitive);
        cookie.ShouldNotContain("domain=", Case.Insensitive);
        cookie.ShouldNotContain("secure", Case.Insensitive);

        // The same login through a proxy, from a real client address over HTTPS: Secure.
        var proxied = await server.LoginAsync(email, headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.7", ["X-Forwarded-Proto"] = "https" });
        var secure = proxied.SetCookie.ShouldNotBeNull();
        secure.ShouldContain("secure", Case.Insensitive);
        secure.ShouldContain("httponly", Case.Insensitive);
        secure.ShouldContain("samesite=lax", Case.Insensitive);
    }

    [Fact]
    public async Task Unknown_email_wrong_password_and_disabled_user_get_the_same_401()
    {
        var orgId = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        await _server.CreateUserAsync(orgId, email);
        var disabledEmail = UserSteps.NewEmail("disabled");
        var disabledId = await _server.CreateUserAsync(orgId, disabledEmail);
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{disabledId}", new { disabled = true })).StatusCode.ShouldBe(200);

        var cases = new (string Label, string Email, string Password)[]
        {
            ("unknown email", UserSteps.NewEmail("ghost"), UserSteps.Password),
            ("wrong password", email, "not-the-right-password-1"),
            ("disabled user", disabledEmail, UserSteps.Password),
        };
        var answers = new List<(string Label, int Status, string Error, string? Challenge)>();
        foreach (var (label, who, password) in cases)
        {
            var times = new List<double>();
            ApiResponse? last = null;
            for (var i = 0; i < 3; i++)
            {
                var watch = Stopwatch.StartNew();
                last = await _server.TryLoginAsync(who, password);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }

            times.Sort();
            output.WriteLine($"{label}: median {times[1]:F0} ms ({string.Join(", ", times.Select(t => t.ToString("F0")))})");
            answers.Add((label, last!.StatusCode, last.Body.GetProperty("error").ToString(), last.Header("WWW-Authenticate")));
        }

        answers.Select(a => a.Status).Distinct().ShouldBe([401]);
        answers.Select(a => a.Error).Distinct().Count().ShouldBe(1, string.Join("\n", answers));
        answers.Select(a => a.Challenge).Distinct().Count().ShouldBe(1);
        answers[0].Error.ShouldContain("AUTHENTICATION_FAILED");

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=50");
        audit.Data.EnumerateArray().Count(e => e.GetProperty("action").GetString() == "auth.login_failed").ShouldBe(6);
        audit.Text.ShouldNotContain("not-the-right-password-1");
    }

    [Fact]
    public async Task An_email_in_two_orgs_needs_the_org_id_and_without_it_fails_like_a_wrong_password()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail("twin");
        var inA = await _server.CreateUserAsync(orgA, email);
        var inB = await _server.CreateUserAsync(orgB, email);

        var ambiguous = await _server.TryLoginAsync(email, UserSteps.Password);
        var wrong = await _server.TryLoginAsync(email, "wrong-password-but-long", orgA);

        ambiguous.StatusCode.ShouldBe(401);
        ambiguous.Body.GetProperty("error").ToString().ShouldBe(wrong.Body.GetProperty("error").ToString());
        (await _server.LoginAsync(email, orgId: orgA)).UserId.ShouldBe(inA);
        (await _server.LoginAsync(email, orgId: orgB)).UserId.ShouldBe(inB);
    }

    [Fact]
    public async Task A_login_without_email_or_password_is_422()
    {
        var response = await _server.CookielessClient().PostAsync("/api/v1/auth/local/login", new { email = "someone@example.org" });

        response.StatusCode.ShouldBe(422, response.Text);
        response.Fields().ShouldBe(["password"]);
    }

    [Fact]
    public async Task After_failures_from_an_attacker_address_the_login_is_throttled_there_but_the_user_still_logs_in_from_elsewhere()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Clock = clock,
            Settings = new Dictionary<string, string?> { ["Gatehouse:TrustedProxies"] = "127.0.0.1" },
        });
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail("victim");
        await server.CreateUserAsync(orgId, email);
        var attacker = new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.66" };
        var user = new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.10" };

        for (var i = 0; i < LoginThrottleFreeFailures; i++)
        {
            (await server.TryLoginAsync(email, $"guess-number-{i}-wrong", headers: attacker)).StatusCode.ShouldBe(401);
        }

        var throttled = await server.TryLoginAsync(email, UserSteps.Password, headers: attacker);
        throttled.StatusCode.ShouldBe(429, throttled.Text);
        throttled.ErrorCode.ShouldBe("RATE_LIMIT_EXCEEDED");
        throttled.Header("Retry-After").ShouldBe("1");

        var real = await server.TryLoginAsync(email, UserSteps.Password, headers: user);
        real.StatusCode.ShouldBe(200, real.Text);

        // The delay doubles with each failure after the free ones, and passes with time.
        clock.Advance(TimeSpan.FromSeconds(1));
        (await server.TryLoginAsync(email, "another-wrong-guess", headers: attacker)).StatusCode.ShouldBe(401);
        (await server.TryLoginAsync(email, "another-wrong-guess", headers: attacker)).Header("Retry-After").ShouldBe("2");
        clock.Advance(TimeSpan.FromSeconds(2));
        (await server.TryLoginAsync(email, UserSteps.Password, headers: attacker)).StatusCode.ShouldBe(200);

        var outcomes = await MetricsScrape.ReadAsync(server,
            "gatehouse_logins_total{outcome=\"succeeded\"}", "gatehouse_logins_total{outcome=\"failed\"}", "gatehouse_logins_total{outcome=\"throttled\"}");
        outcomes.ShouldBe([2L, 6L, 2L]);
    }

    private const int LoginThrottleFreeFailures = 5;

    [Fact]
    public async Task Session_routes_refuse_an_api_key_and_a_missing_credential()
    {
        var orgId = await _server.CreateOrgAsync();
        var key = await _server.OrgClientAsync(orgId, "*");

        (await key.GetAsync("/api/v1/auth/session")).ErrorCode.ShouldBe("FORBIDDEN");
        (await key.PostAsync("/api/v1/auth/logout", new { })).ErrorCode.ShouldBe("FORBIDDEN");
        (await key.PostAsync("/api/v1/auth/password", new { currentPassword = "x", newPassword = "long-enough-new-pass" })).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.CookielessClient().GetAsync("/api/v1/auth/session")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        (await _server.CookielessClient("gks_" + new string('A', 43)).GetAsync("/api/v1/auth/session")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
    }
}
