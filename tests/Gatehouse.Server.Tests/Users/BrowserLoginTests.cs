using Microsoft.Playwright;

namespace Gatehouse.Server.Tests.Users;

/// <summary>
/// Login as a person does it: headless Chromium (Debian's, driven by Playwright) on a page of the
/// server's own origin signs in with fetch, and the browser — not a test's cookie header — keeps
/// and sends the session cookie. The cookie's flags are the browser's view of it, and a page of
/// another origin cannot use it to change anything (CSRF), while a page of this origin can.
/// </summary>
public sealed class BrowserLoginTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task A_browser_keeps_the_session_cookie_HttpOnly_Secure_Lax_and_another_origin_cannot_use_it()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip("Chromium is not installed (Debian: apt-get install chromium)");
        }

        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var email = UserSteps.NewEmail("browser");
        await server.CreateUserAsync(orgId, email);
        var origin = server.Origin();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var context = await browser.NewContextAsync();
        // The server's own answers forbid scripts to fetch anything (Content-Security-Policy), as an
        // API should; the browser is given a blank page at the server's origin to run the app's part.
        var appPage = origin + "/browser-test-page";
        await context.RouteAsync(appPage, route => route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<html><body>app</body></html>" }));
        var page = await context.NewPageAsync();
        (await page.GotoAsync(appPage))!.Status.ShouldBe(200);

        var login = await page.EvaluateAsync<int>(
            "async ([email, password, orgId]) => (await fetch('/api/v1/auth/local/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password, orgId }) })).status",
            new[] { email, UserSteps.Password, orgId });
        login.ShouldBe(200);

        var cookie = (await context.CookiesAsync([origin])).Single(c => c.Name == "__Host-gatehouse_session");
        cookie.HttpOnly.ShouldBeTrue();
        cookie.Secure.ShouldBeTrue("a __Host- cookie is kept only when Secure; browsers accept Secure cookies from loopback http");
        cookie.SameSite.ShouldBe(SameSiteAttribute.Lax);
        cookie.Path.ShouldBe("/");
        cookie.Value.ShouldStartWith("gks_");
        (await page.EvaluateAsync<string>("document.cookie")).ShouldNotContain("gatehouse_session", customMessage: "HttpOnly: scripts cannot read it");

        // The browser sends the cookie by itself: the session answers.
        (await SessionStatusAsync(page)).ShouldBe(200);

        // A page of another origin posts to logout with the cookie: another port of the same host is
        // the same site, so SameSite=Lax lets the cookie go. The server refuses the request for its
        // Origin, and the session lives on.
        // A real loopback server: Chromium treats a page it did not fetch from the network as public
        // and would block its requests to loopback (Local Network Access) before they left.
        using var attackerSite = ServeBlankPage(out var attacker);
        await page.GotoAsync(attacker);
        // A simple request (no body, no custom header): the browser sends it without a preflight, with
        // the cookie and its own Origin.
        await page.EvaluateAsync("async (target) => { try { await fetch(target, { method: 'POST', credentials: 'include' }); } catch { } }", origin + "/api/v1/auth/logout");
        // The page cannot read the answer (no CORS headers); the server's request metrics show it.
        var metrics = await Eventually.ValueAsync(() => server.Anonymous.Http.GetStringAsync("/metrics"), text => RefusedLogouts(text).Any(),
            "the cross-origin logout reached the server and was refused 403",
            describe: text => string.Join(" | ", text.Split('\n').Where(line => line.Contains("logout", StringComparison.Ordinal))));

        await page.GotoAsync(appPage);
        (await SessionStatusAsync(page)).ShouldBe(200, "the cross-origin request changed nothing");

        // The same request from the server's own origin is accepted, and the session ends.
        var logout = await page.EvaluateAsync<int>("async () => (await fetch('/api/v1/auth/logout', { method: 'POST' })).status");
        logout.ShouldBe(200);
        (await SessionStatusAsync(page)).ShouldBe(401);
    }

    /// <summary>A blank page on another loopback port, answered until the listener is disposed.</summary>
    private static System.Net.HttpListener ServeBlankPage(out string url)
    {
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        url = $"http://127.0.0.1:{port}/";
        var listener = new System.Net.HttpListener();
        listener.Prefixes.Add(url);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                try
                {
                    var request = await listener.GetContextAsync();
                    var body = "<html><body>elsewhere</body></html>"u8.ToArray();
                    request.Response.ContentType = "text/html";
                    await request.Response.OutputStream.WriteAsync(body);
                    request.Response.Close();
                }
                catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });
        return listener;
    }

    private static IEnumerable<string> RefusedLogouts(string metrics) =>
        MetricsScrape.Lines(metrics, "http_server_request_duration_seconds_count",
            "http_request_method=\"POST\"", "http_route=\"/api/v1/auth/logout\"", "http_response_status_code=\"403\"");

    private static Task<int> SessionStatusAsync(IPage page) =>
        page.EvaluateAsync<int>("async () => (await fetch('/api/v1/auth/session')).status");
}
