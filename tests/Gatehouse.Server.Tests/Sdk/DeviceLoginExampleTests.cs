using System.Net;
using System.Net.Http.Json;
using Gatehouse.Client;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.Devices;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Examples.DeviceLogin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Playwright;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>
/// examples/device-login on Kestrel against the real Gatehouse, driven in headless Chromium (Debian's,
/// through Playwright): the app's sign-in form, the hosted page served first-party by the .NET SDK's
/// proxy, the callback the app verifies with the .NET client, and the device-bound session it keeps.
/// </summary>
public sealed class DeviceLoginExampleTests(SharedServer shared) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private GatehouseClient? _root;
    private WebApplication? _example;
    private string _orgId = "";
    private string _appId = "";
    private Uri _exampleUrl = new("http://127.0.0.1");

    private GatehouseClient Root => _root!;

    public async ValueTask InitializeAsync()
    {
        _root = SdkHarness.Client(shared.Server, GatehouseServer.RootKey);
        _orgId = (await Root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Device login example" })).Id;
        var backendKey = (await Root.ApiKeys.CreateAsync(_orgId, new CreateApiKeyRequest { Name = "example backend", Permissions = ["devices:read", "devices:write"] })).Key;
        // The app's address is known once it listens: registered with a placeholder, then corrected.
        _appId = (await Root.Devices.CreateAppAsync(_orgId, new CreateDeviceAppRequest
        {
            Name = "device login example",
            RedirectUrls = ["https://placeholder.example/callback"],
            AllowedOrigins = ["https://placeholder.example"],
        })).Id;
        _example = DeviceLoginApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Testing"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Gatehouse:BaseUrl"] = shared.Server.BaseAddress.ToString(),
                ["Gatehouse:Key"] = backendKey,
                ["Gatehouse:OrgId"] = _orgId,
                ["Gatehouse:AppId"] = _appId,
            });
            builder.Logging.ClearProviders();
        });
        await _example.StartAsync();
        _exampleUrl = new Uri(_example.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var origin = _exampleUrl.GetLeftPart(UriPartial.Authority);
        await Root.Devices.UpdateAppAsync(_orgId, _appId, new UpdateDeviceAppRequest { RedirectUrls = [origin + "/callback"], AllowedOrigins = [origin] });
    }

    public async ValueTask DisposeAsync()
    {
        if (_example is not null)
        {
            await _example.DisposeAsync();
        }

        _root?.Dispose();
    }

    [Fact]
    public async Task The_example_signs_a_browser_in_recognises_it_again_and_refuses_it_once_revoked()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip("Chromium is not installed (Debian: apt-get install chromium)");
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await (await browser.NewContextAsync()).NewPageAsync();

        // First sign-in: a new device, and the hosted page ran on the app's own origin.
        var tokens = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/callback?", StringComparison.Ordinal) && System.Web.HttpUtility.ParseQueryString(new Uri(request.Url).Query)["token"] is { } token)
            {
                tokens.Add(token);
            }
        };
        var hostedPages = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/device/auth", StringComparison.Ordinal))
            {
                hostedPages.Add(request.Url);
            }
        };
        await SignInAsync(page, "alice");
        (await page.TextContentAsync("#new-device")).ShouldBe("yes");
        var deviceId = await page.TextContentAsync("#device-id");
        hostedPages.ShouldNotBeEmpty();
        hostedPages.ShouldAllBe(url => url.StartsWith(_exampleUrl.GetLeftPart(UriPartial.Authority) + DeviceLoginApp.ProxyPrefix + "/device/auth", StringComparison.Ordinal));

        // The session is bound to the device: the page proves it, the app's backend validates it.
        await page.ClickAsync("#check");
        await page.WaitForSelectorAsync("#check-result[data-valid=true]");

        // The same profile again: recognised by its key.
        await SignOutAsync(page);
        await SignInAsync(page, "alice");
        (await page.TextContentAsync("#new-device")).ShouldBe("no");
        (await page.TextContentAsync("#device-id")).ShouldBe(deviceId);
        var sessionId = (await page.TextContentAsync("#session-id"))!;

        // A token the page already brought back is refused when replayed.
        tokens.Count.ShouldBe(2);
        var replay = await Should.ThrowAsync<GatehouseApiException>(() => Root.Devices.VerifyTokenAsync(new DeviceAuthVerifyRequest { Token = tokens[^1], UserId = "alice" }, cancellationToken: TestContext.Current.CancellationToken));
        replay.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        // A fresh profile is another device.
        var other = await (await browser.NewContextAsync()).NewPageAsync();
        await SignInAsync(other, "alice");
        (await other.TextContentAsync("#new-device")).ShouldBe("yes");
        (await other.TextContentAsync("#device-id")).ShouldNotBe(deviceId);

        // Revoked: its session ends at once, the page's check fails, and signing in again is refused.
        await Root.Devices.RevokeAsync(_orgId, deviceId!, cancellationToken: TestContext.Current.CancellationToken);
        (await Root.Devices.GetSessionAsync(_orgId, sessionId, cancellationToken: TestContext.Current.CancellationToken)).Status.ShouldBe("ended");
        await page.ClickAsync("#check");
        await page.WaitForSelectorAsync("#check-result[data-valid=false]");
        await page.GotoAsync(new Uri(_exampleUrl, "/").ToString());
        await page.FillAsync("#user", "alice");
        await page.ClickAsync("#sign-in");
        await page.WaitForSelectorAsync("#outcome[data-outcome=device_revoked]");

        // A tampered link stays on the hosted page with an error; an unregistered redirect URL is refused when the link is made.
        await page.GotoAsync(new Uri(_exampleUrl, DeviceLoginApp.ProxyPrefix + "/device/auth?request=dar_tampered").ToString());
        await page.WaitForSelectorAsync("#gatehouse-device[data-state=error]");
        page.Url.ShouldStartWith(_exampleUrl.GetLeftPart(UriPartial.Authority));
        var refused = await Should.ThrowAsync<GatehouseApiException>(() => Root.Devices.GenerateAuthUrlAsync(
            new DeviceAuthUrlRequest { AppId = _appId, UserId = "alice", RedirectUrl = "https://evil.example/callback" }, cancellationToken: TestContext.Current.CancellationToken));
        refused.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        refused.Code.ShouldBe("VALIDATION_FAILED");
    }

    [Fact]
    public async Task The_proxy_forwards_only_the_device_routes_and_keeps_the_page_policy()
    {
        using var http = new HttpClient { BaseAddress = _exampleUrl };
        var page = await http.GetAsync(DeviceLoginApp.ProxyPrefix + "/device/auth?request=dar_x", TestContext.Current.CancellationToken);
        page.StatusCode.ShouldBe(HttpStatusCode.OK);
        page.Headers.GetValues("Content-Security-Policy").Single().ShouldContain("frame-ancestors 'none'");
        (await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("src=\"agent.js\"");

        var agent = await http.GetAsync(DeviceLoginApp.ProxyPrefix + "/device/agent.js", TestContext.Current.CancellationToken);
        agent.Content.Headers.ContentType!.MediaType.ShouldBe("text/javascript");

        // The agent's calls go through with the browser's origin, which Gatehouse checks against the app.
        using var foreign = new HttpRequestMessage(HttpMethod.Post, DeviceLoginApp.ProxyPrefix + "/device/challenge") { Content = JsonContent.Create(new { request = "dar_unknown" }) };
        foreign.Headers.Add("Origin", "https://elsewhere.example");
        var challenge = await http.SendAsync(foreign, TestContext.Current.CancellationToken);
        ((int)challenge.StatusCode).ShouldBeInRange(400, 404);
        foreach (var call in new[] { "register-options", "register", "assert-options", "assert" })
        {
            // The WebAuthn calls are forwarded too: Gatehouse's own answer (an unknown request), not the app's 404 page.
            var webauthn = await http.PostAsJsonAsync(DeviceLoginApp.ProxyPrefix + "/device/webauthn/" + call, new { request = "dar_unknown" }, TestContext.Current.CancellationToken);
            ((int)webauthn.StatusCode).ShouldBe(404, call);
            (await webauthn.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldContain("unknown_request", Case.Sensitive, call);
        }

        // Nothing else of Gatehouse is reachable through it.
        (await http.GetAsync(DeviceLoginApp.ProxyPrefix + "/api/v1/orgs", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await http.GetAsync(DeviceLoginApp.ProxyPrefix + "/device/register", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);

        // A body bigger than the agent ever sends is refused before it leaves the app.
        using var huge = new HttpRequestMessage(HttpMethod.Post, DeviceLoginApp.ProxyPrefix + "/device/prove") { Content = new StringContent(new string('x', 17 * 1024), System.Text.Encoding.UTF8, "application/json") };
        (await http.SendAsync(huge, TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
    }

    private async Task SignInAsync(IPage page, string user)
    {
        await page.GotoAsync(new Uri(_exampleUrl, "/").ToString());
        await page.FillAsync("#user", user);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Uri(_exampleUrl, "/account").ToString());
        (await page.TextContentAsync("#user")).ShouldBe(user);
    }

    private static async Task SignOutAsync(IPage page)
    {
        await page.ClickAsync("#sign-out");
        await page.WaitForSelectorAsync("#sign-in");
    }
}
