using Gatehouse.Server.Tests.Conformance;
using Microsoft.Playwright;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>
/// The whole flow in a real browser: headless Chromium (Debian's, through Playwright) opens the
/// hosted page, whose agent keeps a non-extractable key in the profile's IndexedDB, and is sent back
/// to the app's callback with a token that the app's backend (this test) verifies. The app's origin
/// is played by Playwright's request routing, so the browser sees a separate site.
/// </summary>
public sealed class DeviceBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task A_browser_profile_is_a_device_recognised_again_refused_once_revoked_and_its_tokens_work_once()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip("Chromium is not installed (Debian: apt-get install chromium)");
        }

        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var appId = await server.CreateAppAsync(orgId);
        var backend = await server.DeviceClientAsync(orgId);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var profile = await NewProfileAsync(browser);

        // First visit: a new device.
        var first = await VisitAsync(server, backend, profile, appId);
        var firstVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = first["token"], userId = "alice" });
        firstVerified.StatusCode.ShouldBe(200, firstVerified.Text);
        firstVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        var deviceId = firstVerified.Str("deviceId");

        // The same profile again: recognised by its key.
        var second = await VisitAsync(server, backend, profile, appId);
        var secondVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = second["token"], userId = "alice" });
        secondVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeFalse(secondVerified.Text);
        secondVerified.Str("deviceId").ShouldBe(deviceId);
        var sessionId = secondVerified.Data.GetProperty("session").GetProperty("id").GetString()!;

        // The page proves the session with the same key, for the app's backend to validate.
        var proof = await profile.Page.EvaluateAsync<Dictionary<string, string>>("async (id) => await GatehouseAgent.prove({ sessionId: id })", sessionId);
        var validated = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof });
        validated.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(validated.Text);

        // A replayed token fails.
        (await backend.PostAsync("/api/v1/device-auth/verify", new { token = second["token"], userId = "alice" })).ShouldBeError(401, "AUTHENTICATION_FAILED");

        // A fresh profile is another device.
        var other = await NewProfileAsync(browser);
        var third = await VisitAsync(server, backend, other, appId);
        var thirdVerified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = third["token"], userId = "alice" });
        thirdVerified.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        thirdVerified.Str("deviceId").ShouldNotBe(deviceId);

        // Revoked: the session ends, and the profile is sent back without a token.
        (await backend.DeleteAsync($"/api/v1/orgs/{orgId}/devices/{deviceId}")).StatusCode.ShouldBe(200);
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}")).Str("status").ShouldBe("ended");
        var refused = await VisitAsync(server, backend, profile, appId);
        refused["error"].ShouldBe("device_revoked");
        refused.ContainsKey("token").ShouldBeFalse();

        // A tampered link: the page refuses it and stays; an unregistered redirect URL is refused when the link is made.
        await profile.Page.GotoAsync($"{server.BaseAddress.GetLeftPart(UriPartial.Authority)}/device/auth?request=dar_tampered");
        await profile.Page.WaitForSelectorAsync("#gatehouse-device[data-state=error]");
        profile.Page.Url.ShouldStartWith(server.BaseAddress.GetLeftPart(UriPartial.Authority));
        (await backend.PostAsync("/api/v1/device-auth/url", new { appId, userId = "alice", sessionId = "s", redirectUrl = "https://evil.example/callback" })).ShouldBeError(422, "VALIDATION_FAILED");
    }

    private sealed record Profile(IBrowserContext Context, IPage Page);

    /// <summary>A browser profile of its own (its own IndexedDB), with the app's origin answered by the test.</summary>
    private static async Task<Profile> NewProfileAsync(IBrowser browser)
    {
        var context = await browser.NewContextAsync();
        await context.RouteAsync(DeviceSteps.AppOrigin + "/**", route => route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<html><body>app</body></html>" }));
        return new Profile(context, await context.NewPageAsync());
    }

    /// <summary>The app sends the user to the hosted page; returns the query of the callback the page came back to.</summary>
    private static async Task<Dictionary<string, string>> VisitAsync(GatehouseServer server, ApiClient backend, Profile profile, string appId)
    {
        var url = await backend.PostAsync("/api/v1/device-auth/url", new { appId, userId = "alice", sessionId = "app-session", redirectUrl = DeviceSteps.Callback });
        url.StatusCode.ShouldBe(200, url.Text);
        await profile.Page.GotoAsync(url.Str("url"));
        await profile.Page.WaitForURLAsync(DeviceSteps.Callback + "?**");
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(profile.Page.Url).Query);
        query["requestId"].ShouldBe(url.Str("requestId"));
        // Back on the hosted origin, so the page can call the agent for proofs. The page is opened
        // without a request: with one it would run the flow again and might navigate away (a refused
        // request carries its redirect) while the test goes on. Without one it settles in its error state.
        await profile.Page.GotoAsync(server.BaseAddress.GetLeftPart(UriPartial.Authority) + "/device/auth");
        await profile.Page.WaitForSelectorAsync("#gatehouse-device[data-state=error]");
        return query.AllKeys.ToDictionary(k => k!, k => query[k]!);
    }
}
