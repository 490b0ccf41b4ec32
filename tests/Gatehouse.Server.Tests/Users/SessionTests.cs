namespace Gatehouse.Server.Tests.Users;

public sealed class SessionTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private async Task<(string OrgId, string UserId, string Email)> UserAsync(params string[] permissions)
    {
        var orgId = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        var userId = await _server.CreateUserAsync(orgId, email, permissions: permissions);
        return (orgId, userId, email);
    }

    private async Task<int> SessionStatusAsync(string token) => (await _server.CookielessClient(token).GetAsync("/api/v1/auth/session")).StatusCode;

    [Fact]
    public async Task Logout_ends_this_session_on_the_next_request_and_all_true_ends_every_one()
    {
        var (orgId, _, email) = await UserAsync();
        var first = await _server.LoginAsync(email);
        var second = await _server.LoginAsync(email);
        var third = await _server.LoginAsync(email);
        (await SessionStatusAsync(first.Token)).ShouldBe(200);

        var logout = await _server.CookielessClient(first.Token).PostAsync("/api/v1/auth/logout", new { });
        logout.StatusCode.ShouldBe(200, logout.Text);
        logout.Data.GetProperty("endedSessions").GetInt32().ShouldBe(1);
        logout.Header("Set-Cookie").ShouldNotBeNull().ShouldContain("__Host-gatehouse_session=;");
        (await SessionStatusAsync(first.Token)).ShouldBe(401);
        (await SessionStatusAsync(second.Token)).ShouldBe(200);

        var all = await _server.CookielessClient(second.Token).PostAsync("/api/v1/auth/logout", new { all = true });
        all.Data.GetProperty("endedSessions").GetInt32().ShouldBe(2);
        (await SessionStatusAsync(second.Token)).ShouldBe(401);
        (await SessionStatusAsync(third.Token)).ShouldBe(401);

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=auth.logout");
        audit.Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task A_password_change_ends_the_other_sessions_and_the_old_password()
    {
        var (orgId, _, email) = await UserAsync();
        var current = await _server.LoginAsync(email);
        var other = await _server.LoginAsync(email);
        const string newPassword = "a-brand-new-passphrase-77";

        var wrong = await _server.CookielessClient(current.Token).PostAsync("/api/v1/auth/password", new { currentPassword = "not-it-at-all-0", newPassword });
        wrong.StatusCode.ShouldBe(422, wrong.Text);
        wrong.Fields().ShouldBe(["currentPassword"]);
        var weak = await _server.CookielessClient(current.Token).PostAsync("/api/v1/auth/password", new { currentPassword = UserSteps.Password, newPassword = "123qweasdzxc" });
        weak.Fields().ShouldBe(["newPassword"]);

        var changed = await _server.CookielessClient(current.Token).PostAsync("/api/v1/auth/password", new { currentPassword = UserSteps.Password, newPassword });
        changed.StatusCode.ShouldBe(200, changed.Text);
        changed.Data.GetProperty("endedSessions").GetInt32().ShouldBe(1);

        (await SessionStatusAsync(current.Token)).ShouldBe(200);
        (await SessionStatusAsync(other.Token)).ShouldBe(401);
        (await _server.TryLoginAsync(email, UserSteps.Password)).StatusCode.ShouldBe(401);
        (await _server.LoginAsync(email, newPassword)).Token.ShouldStartWith("gks_");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=user.password_change")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Disabling_the_user_ends_their_sessions_on_the_next_request_and_enabling_does_not_revive_them()
    {
        var (orgId, userId, email) = await UserAsync("users:read");
        var login = await _server.LoginAsync(email);
        (await _server.CookielessClient(login.Token).GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);

        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = true })).StatusCode.ShouldBe(200);
        (await _server.CookielessClient(login.Token).GetAsync($"/api/v1/orgs/{orgId}/users")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");

        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { disabled = false })).StatusCode.ShouldBe(200);
        (await SessionStatusAsync(login.Token)).ShouldBe(401);
        (await _server.LoginAsync(email)).UserId.ShouldBe(userId);
    }

    [Fact]
    public async Task Deleting_the_user_ends_their_sessions_on_the_next_request()
    {
        var (orgId, userId, email) = await UserAsync();
        var login = await _server.LoginAsync(email);
        (await SessionStatusAsync(login.Token)).ShouldBe(200);

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}")).StatusCode.ShouldBe(200);

        (await SessionStatusAsync(login.Token)).ShouldBe(401);
    }

    [Fact]
    public async Task A_permission_or_role_change_reaches_a_cached_session_on_the_next_request()
    {
        var (orgId, userId, email) = await UserAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "readers", permissions = Array.Empty<string>() });
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { roles = new[] { "readers" } });
        var client = _server.CookielessClient((await _server.LoginAsync(email)).Token);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/users")).ErrorCode.ShouldBe("FORBIDDEN");

        var role = (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data[0].GetProperty("id").GetString();
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{role}", new { permissions = new[] { "users:read" } });
        (await client.GetAsync($"/api/v1/orgs/{orgId}/users")).StatusCode.ShouldBe(200);

        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{userId}", new { roles = Array.Empty<string>() });
        (await client.GetAsync($"/api/v1/orgs/{orgId}/users")).ErrorCode.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task An_administrator_lists_and_ends_a_users_sessions()
    {
        var (orgId, userId, email) = await UserAsync();
        var first = await _server.LoginAsync(email);
        var second = await _server.LoginAsync(email);

        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions");
        list.StatusCode.ShouldBe(200, list.Text);
        list.Data.EnumerateArray().Select(s => s.GetProperty("id").GetString()).ShouldBe([first.SessionId, second.SessionId], ignoreOrder: true);
        list.Text.ShouldNotContain(first.Token);
        list.Text.ShouldNotContain("hash", Case.Insensitive);

        var ended = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions/{first.SessionId}");
        ended.StatusCode.ShouldBe(200, ended.Text);
        ended.Data.GetProperty("active").GetBoolean().ShouldBeFalse();
        (await SessionStatusAsync(first.Token)).ShouldBe(401);
        (await SessionStatusAsync(second.Token)).ShouldBe(200);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions/ses_unknown")).ErrorCode.ShouldBe("NOT_FOUND");

        var reader = await Gatehouse.Server.Tests.ApiKeys.KeyScenario.OrgClientAsync(_server, orgId, "users:read");
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions")).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.DeleteAsync($"/api/v1/orgs/{orgId}/users/{userId}/sessions/{second.SessionId}")).ErrorCode.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task A_cookie_request_that_changes_state_needs_this_servers_origin()
    {
        var (_, _, email) = await UserAsync();
        var login = await _server.LoginAsync(email);

        var noOrigin = await _server.SendWithCookieAsync(HttpMethod.Post, "/api/v1/auth/logout", login.Token, new { });
        noOrigin.StatusCode.ShouldBe(403, noOrigin.Text);
        noOrigin.ErrorCode.ShouldBe("FORBIDDEN");
        noOrigin.Text.ShouldContain("Origin");
        var foreign = await _server.SendWithCookieAsync(HttpMethod.Post, "/api/v1/auth/logout", login.Token, new { }, origin: "https://evil.example");
        foreign.StatusCode.ShouldBe(403, foreign.Text);
        (await SessionStatusAsync(login.Token)).ShouldBe(200);

        // A read needs no Origin; the bearer header is not sent by a browser on its own, so it needs none either.
        (await _server.SendWithCookieAsync(HttpMethod.Get, "/api/v1/auth/session", login.Token)).StatusCode.ShouldBe(200);

        var sameOrigin = await _server.SendWithCookieAsync(HttpMethod.Post, "/api/v1/auth/logout", login.Token, new { }, origin: _server.Origin());
        sameOrigin.StatusCode.ShouldBe(200, sameOrigin.Text);
        (await SessionStatusAsync(login.Token)).ShouldBe(401);
    }

    [Fact]
    public async Task A_session_ends_after_the_idle_timeout_and_at_its_absolute_end()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Clock = clock,
            Settings = new Dictionary<string, string?> { ["Gatehouse:Users:SessionIdleMinutes"] = "30", ["Gatehouse:Users:SessionAbsoluteHours"] = "1" },
        });
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        await server.CreateUserAsync(orgId, email);
        var idle = await server.LoginAsync(email);
        var active = await server.LoginAsync(email);

        clock.Advance(TimeSpan.FromMinutes(29));
        (await server.CookielessClient(active.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(200);
        clock.Advance(TimeSpan.FromMinutes(1));
        (await server.CookielessClient(idle.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401);
        (await server.CookielessClient(active.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(200);

        // Kept active, it still ends an hour after the login.
        clock.Advance(TimeSpan.FromMinutes(29));
        (await server.CookielessClient(active.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(200);
        clock.Advance(TimeSpan.FromMinutes(1));
        (await server.CookielessClient(active.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Ended_and_expired_sessions_are_listed_for_a_week_then_pruned()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail();
        var userId = await server.CreateUserAsync(orgId, email);
        var ended = await server.LoginAsync(email);
        (await server.CookielessClient(ended.Token).PostAsync("/api/v1/auth/logout", new { })).StatusCode.ShouldBe(200);
        var sessions = $"/api/v1/orgs/{orgId}/users/{userId}/sessions";

        async Task<int> ListedAfterPruneAsync()
        {
            var trigger = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = "session-prune" });
            trigger.StatusCode.ShouldBe(202, trigger.Text);
            await Eventually.ValueAsync(() => server.Root.GetAsync($"/api/v1/admin/jobs/runs/{trigger.Str("runId")}"),
                r => r.StatusCode == 200 && r.Str("state") == "succeeded", "the prune run to succeed", describe: r => r.Text);
            return (await server.Root.GetAsync(sessions)).Data.GetArrayLength();
        }

        (await ListedAfterPruneAsync()).ShouldBe(1, "an ended session stays listed for a week");
        clock.Advance(TimeSpan.FromDays(8));
        var current = await server.LoginAsync(email);
        (await ListedAfterPruneAsync()).ShouldBe(1, "the ended session is gone and the new one stays");
        (await server.CookielessClient(current.Token).GetAsync("/api/v1/auth/session")).StatusCode.ShouldBe(200);
    }
}
