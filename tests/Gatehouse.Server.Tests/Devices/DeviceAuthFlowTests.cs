using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Conformance;
using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>
/// The device-verification flow over HTTP, with the agent's part played by a test key: the auth
/// URL, the browser endpoints, verify and refresh, and each way they refuse.
/// </summary>
public sealed class DeviceAuthFlowTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_first_visit_registers_a_device_and_a_second_one_is_recognised()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();

        var url = await backend.PostAsync("/api/v1/device-auth/url", new { gatewayUuid = appId, userId = "alice", sessionId = "shop-1", redirectUrl = DeviceSteps.Callback });
        url.StatusCode.ShouldBe(200, url.Text);
        url.Str("url").ShouldBe($"{_server.BaseAddress.GetLeftPart(UriPartial.Authority)}/device/auth?request={url.Str("requestId")}");
        var (token, page) = await _server.PassPageAsync(url.Str("requestId"), browser);
        page.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        token.ShouldStartWith("gdt_");

        var first = await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "alice" });

        first.StatusCode.ShouldBe(200, first.Text);
        first.Data.GetProperty("verified").GetBoolean().ShouldBeTrue();
        first.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        first.Str("deviceId").ShouldBe(browser.DeviceId);
        first.Str("userId").ShouldBe("alice");
        first.Str("sessionId").ShouldBe("shop-1");
        first.Data.GetProperty("session").GetProperty("id").GetString()!.ShouldStartWith("ses_");
        first.Str("refreshToken").ShouldStartWith("gdr_");

        var second = await _server.SignInAsync(backend, appId, "alice", browser);
        second.GetProperty("newDevice").GetBoolean().ShouldBeFalse();
        second.GetProperty("deviceId").GetString().ShouldBe(browser.DeviceId);

        using var otherProfile = new TestDevice();
        var third = await _server.SignInAsync(backend, appId, "alice", otherProfile);
        third.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        third.GetProperty("deviceId").GetString().ShouldNotBe(browser.DeviceId);

        var devices = await backend.GetAsync($"/api/v1/orgs/{orgId}/devices?userId=alice");
        devices.Data.GetArrayLength().ShouldBe(2);
        var actions = await _server.AuditActionsAsync(orgId);
        actions.Count(a => a == "device_auth.verify").ShouldBe(3);
        actions.Count(a => a == "device.register").ShouldBe(2);
    }

    [Fact]
    public async Task A_token_works_once_for_its_user_and_organization_only()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        var otherOrg = await _server.CreateOrgAsync();
        var stranger = await _server.DeviceClientAsync(otherOrg);
        using var browser = new TestDevice();
        var (token, _) = await _server.PassPageAsync(await backend.AuthUrlAsync(appId, "alice"), browser);

        (await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "bob" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await stranger.PostAsync("/api/v1/device-auth/verify", new { token, userId = "alice" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "alice", appId = "dap_other" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.PostAsync("/api/v1/device-auth/verify", new { token = "gdt_forged", userId = "alice" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.PostAsync("/api/v1/device-auth/verify", new { userId = "alice" })).ShouldBeError(422, "VALIDATION_FAILED");

        (await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "alice", gatewayUuid = appId })).StatusCode.ShouldBe(200);
        var replay = await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId = "alice" });

        replay.ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await _server.AuditActionsAsync(orgId)).Count(a => a == "device_auth.fail").ShouldBe(4);
    }

    [Fact]
    public async Task The_auth_url_takes_only_a_registered_redirect_and_a_known_gateway()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        var path = "/api/v1/device-auth/url";

        foreach (var tampered in new[] { "https://app.example/callback/../evil", "https://evil.example/callback", "https://app.example/callback?next=https://evil.example", "HTTPS://APP.EXAMPLE/callback", "https://app.example/callback/" })
        {
            (await backend.PostAsync(path, new { appId, userId = "alice", sessionId = "s", redirectUrl = tampered })).ShouldBeError(422, "VALIDATION_FAILED");
        }

        (await backend.PostAsync(path, new { gatewayUuid = "dap_unknown", userId = "alice", sessionId = "s", redirectUrl = DeviceSteps.Callback })).ShouldBeError(404, "GATEWAY_NOT_FOUND");
        (await backend.PostAsync(path, new { userId = "alice", sessionId = "s", redirectUrl = DeviceSteps.Callback })).ShouldBeError(422, "VALIDATION_FAILED");
        (await backend.PostAsync(path, new { appId, sessionId = "s", redirectUrl = DeviceSteps.Callback })).ShouldBeError(422, "VALIDATION_FAILED");
        (await backend.PostAsync(path, new { appId, userId = "alice", redirectUrl = DeviceSteps.Callback, gateway = appId })).ShouldBeError(400, "INVALID_REQUEST");
        (await (await _server.OrgClientAsync(orgId, "devices:read")).PostAsync(path, new { appId, userId = "alice", redirectUrl = DeviceSteps.Callback })).ShouldBeError(403, "FORBIDDEN");
        (await _server.Anonymous.PostAsync(path, new { appId, userId = "alice", redirectUrl = DeviceSteps.Callback })).ShouldBeError(401, "AUTHENTICATION_FAILED");
    }

    [Fact]
    public async Task A_gatehouse_user_id_must_name_an_enabled_user_of_the_organization_and_any_other_id_is_the_apps_own()
    {
        var orgId = await _server.CreateOrgAsync();
        var otherOrgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        var member = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("device-member"));
        var disabled = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("device-disabled"));
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{disabled}", new { disabled = true })).StatusCode.ShouldBe(200);
        var outsider = await _server.CreateUserAsync(otherOrgId, UserSteps.NewEmail("device-outsider"));
        var path = "/api/v1/device-auth/url";

        (await backend.PostAsync(path, new { appId, userId = member, redirectUrl = DeviceSteps.Callback })).StatusCode.ShouldBe(200);
        (await backend.PostAsync(path, new { appId, userId = "customer-42", redirectUrl = DeviceSteps.Callback })).StatusCode.ShouldBe(200);
        foreach (var refused in new[] { disabled, outsider, "usr_00000000000000000000000000" })
        {
            var answer = await backend.PostAsync(path, new { appId, userId = refused, redirectUrl = DeviceSteps.Callback });
            answer.ShouldBeError(422, "VALIDATION_FAILED");
            answer.Text.ShouldNotContain(otherOrgId);
        }

        using var key = new TestDevice();
        (await backend.PostAsync($"/api/v1/orgs/{orgId}/devices", new { appId, userId = outsider, publicKeyJwk = key.PublicJwk })).ShouldBeError(422, "VALIDATION_FAILED");
        var registered = await backend.PostAsync($"/api/v1/orgs/{orgId}/devices", new { appId, userId = member, publicKeyJwk = key.PublicJwk });
        registered.StatusCode.ShouldBe(201, registered.Text);

        // A user disabled after registering gets no new session on the device.
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/users/{member}", new { disabled = true })).StatusCode.ShouldBe(200);
        (await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions", new { userId = member, deviceId = registered.Str("id") })).ShouldBeError(422, "VALIDATION_FAILED");
    }

    [Fact]
    public async Task A_refresh_token_rotates_and_a_reused_one_ends_the_session()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();
        var signedIn = await _server.SignInAsync(backend, appId, "alice", browser);
        var sessionId = signedIn.GetProperty("session").GetProperty("id").GetString()!;
        var firstRefresh = signedIn.GetProperty("refreshToken").GetString()!;

        var refreshed = await backend.PostAsync("/api/v1/device-auth/refresh", new { refreshToken = firstRefresh });

        refreshed.StatusCode.ShouldBe(200, refreshed.Text);
        refreshed.Data.GetProperty("session").GetProperty("id").GetString().ShouldBe(sessionId);
        var secondRefresh = refreshed.Str("refreshToken");
        secondRefresh.ShouldNotBe(firstRefresh);
        var stranger = await _server.DeviceClientAsync(await _server.CreateOrgAsync());
        (await stranger.PostAsync("/api/v1/device-auth/refresh", new { refreshToken = secondRefresh })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.PostAsync("/api/v1/device-auth/refresh", new { refreshToken = "gdr_unknown" })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.PostAsync("/api/v1/device-auth/refresh", new { })).ShouldBeError(422, "VALIDATION_FAILED");
        var valid = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = await _server.ProofAsync(sessionId, browser) });
        valid.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(valid.Text);

        var reused = await backend.PostAsync("/api/v1/device-auth/refresh", new { refreshToken = firstRefresh });

        reused.ShouldBeError(401, "AUTHENTICATION_FAILED");
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}")).Str("endReason").ShouldBe("refresh_token_reused");
        (await backend.PostAsync("/api/v1/device-auth/refresh", new { refreshToken = secondRefresh })).ShouldBeError(401, "AUTHENTICATION_FAILED");
        var after = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { });
        after.Data.GetProperty("reason").GetString().ShouldBe("ended");
    }

    [Fact]
    public async Task A_revoked_device_is_refused_on_the_page_and_the_app_hears_of_it_without_a_token()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();
        await _server.SignInAsync(backend, appId, "alice", browser);
        (await backend.DeleteAsync($"/api/v1/orgs/{orgId}/devices/{browser.DeviceId}")).StatusCode.ShouldBe(200);
        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, challenge, _) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId });
        var nonce = challenge.GetProperty("nonce").GetString()!;

        var (status, answer, _) = await _server.BrowserPostAsync("/device/prove",
            new { request = requestId, nonce, deviceId = browser.DeviceId, signature = browser.Sign($"gatehouse-device-auth:{requestId}:{nonce}") });

        status.ShouldBe(403);
        answer.GetProperty("error").GetString().ShouldBe("device_revoked");
        answer.GetProperty("redirectUrl").GetString().ShouldBe($"{DeviceSteps.Callback}?error=device_revoked&requestId={requestId}");
        (await _server.AuditActionsAsync(orgId)).ShouldContain("device_auth.fail");
    }

    [Fact]
    public async Task The_browser_endpoints_refuse_bad_signatures_used_challenges_and_foreign_origins()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();
        using var thief = new TestDevice();
        var requestId = await backend.AuthUrlAsync(appId, "alice");

        var (foreign, refused, _) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId }, origin: "https://evil.example");
        foreign.ShouldBe(403);
        refused.GetProperty("error").GetString().ShouldBe("origin_not_allowed");
        var (allowedStatus, allowed, allowedResponse) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId }, origin: DeviceSteps.AppOrigin);
        allowedStatus.ShouldBe(200);
        allowedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe(DeviceSteps.AppOrigin);
        var nonce = allowed.GetProperty("nonce").GetString()!;

        var (badSignature, _, _) = await _server.BrowserPostAsync("/device/register",
            new { request = requestId, nonce, publicKeyJwk = browser.PublicJwk, signature = thief.Sign($"gatehouse-device-auth:{requestId}:{nonce}") });
        badSignature.ShouldBe(401);
        var register = new { request = requestId, nonce, publicKeyJwk = browser.PublicJwk, signature = browser.Sign($"gatehouse-device-auth:{requestId}:{nonce}") };
        (await _server.BrowserPostAsync("/device/register", register)).Status.ShouldBe(200);
        var (again, replayed, _) = await _server.BrowserPostAsync("/device/register", register);
        again.ShouldBe(404, "a completed request takes no second answer");
        replayed.GetProperty("error").GetString().ShouldBe("unknown_request");
        (await _server.BrowserPostAsync("/device/challenge", new { request = "dar_unknown" })).Status.ShouldBe(404);
        (await _server.BrowserPostAsync("/device/challenge", new { sessionId = "ses_unknown" })).Status.ShouldBe(404);
        (await _server.BrowserPostAsync("/device/challenge", new { surprise = 1 })).Status.ShouldBe(400);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/device/challenge");
        preflight.Headers.Add("Origin", DeviceSteps.AppOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        var preflightAnswer = await _server.Anonymous.Http.SendAsync(preflight);
        ((int)preflightAnswer.StatusCode).ShouldBe(204);
        preflightAnswer.Headers.GetValues("Access-Control-Allow-Methods").Single().ShouldBe("POST");
    }

    [Fact]
    public async Task The_hosted_page_and_the_agent_are_served_without_third_party_assets()
    {
        var page = await _server.Anonymous.Http.GetAsync("/device/auth?request=dar_x");
        var html = await page.Content.ReadAsStringAsync();
        page.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("script-src 'self'");
        html.ShouldContain("<script src=\"agent.js\" data-hosted-page></script>");
        html.ShouldNotContain("http");

        var agent = await _server.Anonymous.Http.GetAsync("/device/agent.js");
        var script = await agent.Content.ReadAsStringAsync();
        agent.Content.Headers.ContentType!.MediaType.ShouldBe("text/javascript");
        script.ShouldContain("generateKey(ALGORITHM, false");
        script.ShouldNotContain("http://");
        script.ShouldNotContain("https://");
    }

    [Fact]
    public async Task A_device_session_is_no_credential_of_this_API()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var backend = await _server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();
        var signedIn = await _server.SignInAsync(backend, appId, "alice", browser);

        var asBearer = _server.CreateClient(signedIn.GetProperty("refreshToken").GetString()!);

        (await asBearer.GetAsync($"/api/v1/orgs/{orgId}/devices")).StatusCode.ShouldBe(401);
    }
}

/// <summary>The flow's figures on /metrics, on a server of their own so no other test moves them.</summary>
public sealed class DeviceMetricsTests
{
    [Fact]
    public async Task Verifications_registrations_and_active_sessions_are_counted()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var appId = await server.CreateAppAsync(orgId);
        var backend = await server.DeviceClientAsync(orgId);
        using var browser = new TestDevice();

        await server.SignInAsync(backend, appId, "alice", browser);
        await server.SignInAsync(backend, appId, "alice", browser);
        (await backend.PostAsync("/api/v1/device-auth/verify", new { token = "gdt_forged", userId = "alice" })).StatusCode.ShouldBe(401);

        var counted = await MetricsScrape.ReadAsync(server,
            "gatehouse_device_auth_verifications_total{outcome=\"verified\"}", "gatehouse_device_auth_verifications_total{outcome=\"failed\"}", "gatehouse_devices_registrations_total{key_type=\"webcrypto-p256\"}");
        counted.ShouldBe([2L, 1L, 1L]);
        // The active-session gauge is recounted in the background: the first scrape starts the count.
        await Eventually.TrueAsync(async () => (await MetricsScrape.ReadAsync(server, "gatehouse_device_sessions_active"))[0] == 2, "the active-session gauge counts both sessions");
    }
}
