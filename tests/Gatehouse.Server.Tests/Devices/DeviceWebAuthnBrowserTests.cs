using System.Text.Json;
using Microsoft.Playwright;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>
/// WebAuthn in a real browser: headless Chromium with a virtual platform authenticator (Chrome DevTools'
/// WebAuthn domain, through Playwright's CDP session) runs the hosted page, whose agent registers a
/// credential and asserts it on later visits. The page is opened on <c>localhost</c>: browsers refuse an
/// IP address as a relying party id.
/// </summary>
public sealed class DeviceWebAuthnBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task A_platform_authenticator_is_a_device_recognised_again_cloned_or_revoked_refused()
    {
        SkipWithoutChromium();
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var appId = await CreateAppAsync(server, orgId, "preferred");
        var backend = await server.DeviceClientAsync(orgId);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var profile = await NewProfileAsync(browser, withAuthenticator: true);

        // First visit: the authenticator makes a credential, a new device of type webauthn.
        var first = await VisitAsync(server, backend, profile, appId);
        var firstVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = first["token"], userId = "alice" });
        firstVerified.StatusCode.ShouldBe(200, firstVerified.Text);
        firstVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        var deviceId = firstVerified.Str("deviceId");
        var device = await backend.GetAsync($"/api/v1/orgs/{orgId}/devices/{deviceId}");
        device.Str("keyType").ShouldBe("webauthn");
        device.Data.GetProperty("userVerified").GetBoolean().ShouldBeTrue();
        (await CredentialsAsync(profile)).Single().GetProperty("rpId").GetString().ShouldBe("localhost");

        // Second visit: the same credential asserts; recognised.
        var second = await VisitAsync(server, backend, profile, appId);
        var secondVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = second["token"], userId = "alice" });
        secondVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeFalse(secondVerified.Text);
        secondVerified.Str("deviceId").ShouldBe(deviceId);
        var sessionId = secondVerified.Data.GetProperty("session").GetProperty("id").GetString()!;

        // The page proves the session with an assertion, for the app's backend to validate.
        // As the app's page would send it to its backend: JSON text.
        var proofJson = await profile.Page.EvaluateAsync<string>("async (id) => JSON.stringify(await GatehouseAgent.prove({ sessionId: id }))", sessionId);
        var proof = JsonDocument.Parse(proofJson).RootElement.Clone();
        proof.TryGetProperty("webauthn", out _).ShouldBeTrue(proof.ToString());
        var validated = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof });
        validated.StatusCode.ShouldBe(200, validated.Text);
        validated.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(validated.Text);

        // Another profile with its own authenticator: another device.
        var other = await NewProfileAsync(browser, withAuthenticator: true);
        var third = await VisitAsync(server, backend, other, appId);
        var thirdVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = third["token"], userId = "alice" });
        thirdVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        thirdVerified.Str("deviceId").ShouldNotBe(deviceId);

        // The credential comes back with a lower counter, as a clone would: refused, and the app hears of it.
        var credential = (await CredentialsAsync(profile)).Single();
        credential.GetProperty("signCount").GetInt64().ShouldBeGreaterThan(0);
        await profile.Cdp.SendAsync("WebAuthn.removeCredential", new Dictionary<string, object>
        {
            ["authenticatorId"] = profile.AuthenticatorId!,
            ["credentialId"] = credential.GetProperty("credentialId").GetString()!,
        });
        await profile.Cdp.SendAsync("WebAuthn.addCredential", new Dictionary<string, object>
        {
            ["authenticatorId"] = profile.AuthenticatorId!,
            ["credential"] = new Dictionary<string, object>
            {
                ["credentialId"] = credential.GetProperty("credentialId").GetString()!,
                ["isResidentCredential"] = credential.GetProperty("isResidentCredential").GetBoolean(),
                ["rpId"] = "localhost",
                ["privateKey"] = credential.GetProperty("privateKey").GetString()!,
                ["signCount"] = 0,
            },
        });
        var cloned = await VisitAsync(server, backend, profile, appId);
        cloned.GetValueOrDefault("error").ShouldBe("sign_count_regression", string.Join("&", cloned));
        cloned.ContainsKey("token").ShouldBeFalse();
        (await server.AuditActionsAsync(orgId)).ShouldContain("device_auth.fail");

        // Revoked: the other profile's device is sent back without a token.
        (await backend.DeleteAsync($"/api/v1/orgs/{orgId}/devices/{thirdVerified.Str("deviceId")}")).StatusCode.ShouldBe(200);
        var refused = await VisitAsync(server, backend, other, appId);
        refused.GetValueOrDefault("error").ShouldBe("device_revoked", string.Join("&", refused));
        refused.ContainsKey("token").ShouldBeFalse();

        var registrations = await MetricsScrape.ReadAsync(server,
            "gatehouse_devices_registrations_total{key_type=\"webauthn\"}", "gatehouse_devices_registrations_total{key_type=\"webcrypto-p256\"}");
        registrations.ShouldBe([2L, 0L]);
    }

    [Fact]
    public async Task Required_refuses_a_browser_without_an_authenticator_and_off_keeps_the_webcrypto_key()
    {
        SkipWithoutChromium();
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var backend = await server.DeviceClientAsync(orgId);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);

        // "required" and no platform authenticator: the page says so and stays; nothing is registered.
        var required = await CreateAppAsync(server, orgId, "required");
        var bare = await NewProfileAsync(browser, withAuthenticator: false);
        var url = await backend.PostAsync("/api/v1/device-auth/url", new { appId = required, userId = "alice", sessionId = "s", redirectUrl = DeviceSteps.Callback });
        await bare.Page.GotoAsync(OnLocalhost(url.Str("url")));
        await bare.Page.WaitForSelectorAsync("#gatehouse-device[data-state=error]");
        (await bare.Page.TextContentAsync("#gatehouse-device-detail"))!.ShouldContain("built-in authenticator");
        bare.Page.Url.ShouldStartWith(OnLocalhost(server.BaseAddress.GetLeftPart(UriPartial.Authority)));
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices")).Data.GetArrayLength().ShouldBe(0);

        // "off": even a browser with an authenticator keeps a WebCrypto key.
        var off = await CreateAppAsync(server, orgId, "off");
        var equipped = await NewProfileAsync(browser, withAuthenticator: true);
        var visit = await VisitAsync(server, backend, equipped, off);
        var verified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = visit["token"], userId = "alice" });
        verified.StatusCode.ShouldBe(200, verified.Text);
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices/{verified.Str("deviceId")}")).Str("keyType").ShouldBe("webcrypto-p256");
        (await CredentialsAsync(equipped)).ShouldBeEmpty();
    }

    private sealed record Profile(IBrowserContext Context, IPage Page, ICDPSession Cdp, string? AuthenticatorId);

    private static void SkipWithoutChromium()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip("Chromium is not installed (Debian: apt-get install chromium)");
        }
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });

    /// <summary>
    /// An app whose allowed origins hold the page's localhost origin too: the backend (this test) calls
    /// Gatehouse at 127.0.0.1, so a session proof made on localhost comes from an origin the validate call
    /// would not know as Gatehouse's own (in production: set <c>PublicUrl</c>).
    /// </summary>
    private static async Task<string> CreateAppAsync(GatehouseServer server, string orgId, string webauthn) =>
        await server.CreateAppAsync(orgId, new
        {
            name = "app " + Guid.NewGuid().ToString("N")[..8],
            redirectUrls = new[] { DeviceSteps.Callback },
            allowedOrigins = new[] { DeviceSteps.AppOrigin, OnLocalhost(server.BaseAddress.GetLeftPart(UriPartial.Authority)) },
            webauthn,
        });

    /// <summary>A browser profile of its own, optionally with a virtual user-verifying platform authenticator.</summary>
    private static async Task<Profile> NewProfileAsync(IBrowser browser, bool withAuthenticator)
    {
        var context = await browser.NewContextAsync();
        await context.RouteAsync(DeviceSteps.AppOrigin + "/**", route => route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<html><body>app</body></html>" }));
        var page = await context.NewPageAsync();
        var cdp = await page.Context.NewCDPSessionAsync(page);
        if (!withAuthenticator)
        {
            return new Profile(context, page, cdp, null);
        }

        await cdp.SendAsync("WebAuthn.enable", new Dictionary<string, object> { ["enableUI"] = false });
        var added = await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2",
                ["transport"] = "internal",
                ["hasResidentKey"] = true,
                ["hasUserVerification"] = true,
                ["isUserVerified"] = true,
                ["automaticPresenceSimulation"] = true,
            },
        });
        return new Profile(context, page, cdp, added!.Value.GetProperty("authenticatorId").GetString());
    }

    private static async Task<List<JsonElement>> CredentialsAsync(Profile profile)
    {
        if (profile.AuthenticatorId is null)
        {
            return [];
        }

        var answer = await profile.Cdp.SendAsync("WebAuthn.getCredentials", new Dictionary<string, object> { ["authenticatorId"] = profile.AuthenticatorId });
        return [.. answer!.Value.GetProperty("credentials").EnumerateArray().Select(c => c.Clone())];
    }

    private static string OnLocalhost(string url) => url.Replace("://127.0.0.1:", "://localhost:", StringComparison.Ordinal);

    /// <summary>The app sends the user to the hosted page (on localhost); returns the query of the callback the page came back to.</summary>
    private static async Task<Dictionary<string, string>> VisitAsync(GatehouseServer server, ApiClient backend, Profile profile, string appId)
    {
        var url = await backend.PostAsync("/api/v1/device-auth/url", new { appId, userId = "alice", sessionId = "app-session", redirectUrl = DeviceSteps.Callback });
        url.StatusCode.ShouldBe(200, url.Text);
        await profile.Page.GotoAsync(OnLocalhost(url.Str("url")));
        await profile.Page.WaitForURLAsync(DeviceSteps.Callback + "?**");
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(profile.Page.Url).Query);
        query["requestId"].ShouldBe(url.Str("requestId"));
        // Back on the hosted origin without a request, so the page can call the agent for proofs and settles in its error state.
        await profile.Page.GotoAsync(OnLocalhost(server.BaseAddress.GetLeftPart(UriPartial.Authority)) + "/device/auth");
        await profile.Page.WaitForSelectorAsync("#gatehouse-device[data-state=error]");
        return query.AllKeys.ToDictionary(k => k!, k => query[k]!);
    }
}
