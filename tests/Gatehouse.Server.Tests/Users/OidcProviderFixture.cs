using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Users;

/// <summary>
/// A Gatehouse server and a real OpenID Connect provider (tests/oidc-provider: npm oidc-provider) on
/// loopback, shared by one test class. The provider signs in, without a page, the account its
/// <c>login_hint</c> names; its accounts are <see cref="Accounts"/>. When node or the app's
/// node_modules are missing, <see cref="SkipReason"/> says so and the tests skip.
/// </summary>
public sealed class OidcProviderFixture : IAsyncLifetime
{
    public const string ClientId = "gatehouse-test";
    public const string ClientSecret = "provider-client-secret-0123456789";

    private readonly List<Process> _extraProviders = [];
    private Process? _provider;
    private string? _node;
    private string? _app;
    private GatehouseServer? _server;
    private string? _geoCsv;

    public GatehouseServer Server => _server ?? throw new InvalidOperationException("The fixture did not start.");
    public string Issuer { get; private set; } = "";
    public string? SkipReason { get; private set; }

    /// <summary>Subject → email, per run, so several classes never meet the same address.</summary>
    public IReadOnlyDictionary<string, string> Accounts { get; } = new Dictionary<string, string>
    {
        ["ada"] = UserSteps.NewEmail("ada"),
        ["bob"] = UserSteps.NewEmail("bob"),
        ["eve"] = UserSteps.NewEmail("eve"),
        ["unverified"] = UserSteps.NewEmail("unverified"),
    };

    public async ValueTask InitializeAsync()
    {
        var node = ExternalTools.FindOnPath("node");
        var app = Path.Combine(ExternalTools.RepositoryRoot(), "tests", "oidc-provider");
        if (node is null)
        {
            SkipReason = "node is not installed (Debian: apt-get install nodejs npm)";
            return;
        }

        if (!File.Exists(Path.Combine(app, "node_modules", "oidc-provider", "package.json")))
        {
            SkipReason = "tests/oidc-provider/node_modules is missing: run `npm ci --prefix tests/oidc-provider`";
            return;
        }

        // The geo-fence applies to single sign-on too: loopback, where the tests log in from, is in NL.
        _geoCsv = Path.Combine(Path.GetTempPath(), $"gatehouse-geo-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(_geoCsv, Gateways.VpnServer.GeoCsv);
        _server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Gateways:GeoIpCsvPath"] = _geoCsv } });
        (_provider, Issuer) = await StartProviderAsync(node, app, []);
        _node = node;
        _app = app;
    }

    /// <summary>
    /// Another provider process, with its own issuer, whose one client authenticates as <paramref name="clientAuth"/>
    /// (for <c>private_key_jwt</c>, with the keys at <paramref name="jwksUri"/>). It ends with the fixture.
    /// </summary>
    public async Task<string> StartExtraProviderAsync(string clientAuth, string? jwksUri = null)
    {
        var env = new Dictionary<string, string> { ["CLIENT_AUTH"] = clientAuth };
        if (jwksUri is not null)
        {
            env["CLIENT_JWKS_URI"] = jwksUri;
        }

        var (process, issuer) = await StartProviderAsync(_node!, _app!, env);
        lock (_extraProviders)
        {
            _extraProviders.Add(process);
        }

        return issuer;
    }

    /// <summary>Changes what the provider at <paramref name="issuer"/> says of an account from now on (its claims are merged).</summary>
    public static async Task SetProviderAccountAsync(string issuer, string subject, object claims)
    {
        using var http = new HttpClient();
        using var response = await http.PutAsync(new Uri($"{issuer}/test/accounts/{Uri.EscapeDataString(subject)}"), JsonContent.Create(claims));
        response.StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    private async Task<(Process Process, string Issuer)> StartProviderAsync(string node, string app, Dictionary<string, string> extraEnvironment)
    {
        var port = FreePort();
        var accounts = new Dictionary<string, object>
        {
            ["ada"] = new { email = Accounts["ada"], name = "Ada Lovelace", groups = new[] { "admins", "staff" } },
            ["bob"] = new { email = Accounts["bob"], name = "Bob", groups = new[] { "staff" } },
            ["eve"] = new { email = Accounts["eve"], groups = Array.Empty<string>() },
            ["unverified"] = new { email = Accounts["unverified"], email_verified = false },
            ["nomail"] = new { name = "No Mail" },
        };
        var start = new ProcessStartInfo(node, ["provider.mjs"]) { WorkingDirectory = app, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["CLIENT_ID"] = ClientId;
        start.Environment["CLIENT_SECRET"] = ClientSecret;
        start.Environment["REDIRECT_URI"] = Server.BaseAddress.GetLeftPart(UriPartial.Authority) + "/api/v1/auth/oidc/callback";
        start.Environment["ACCOUNTS"] = JsonSerializer.Serialize(accounts);
        foreach (var (name, value) in extraEnvironment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        // The provider prints one line when it listens; anything else first (a crash) fails here.
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        line.ShouldNotBeNull("the OpenID provider exited before listening");
        line.ShouldContain("listening");
        return (process, $"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _extraProviders.Append(_provider))
        {
            if (provider is { HasExited: false })
            {
                provider.Kill(entireProcessTree: true);
                await provider.WaitForExitAsync();
            }

            provider?.Dispose();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_geoCsv is not null)
        {
            File.Delete(_geoCsv);
        }
    }

    public void SkipWhenUnavailable()
    {
        if (SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
    }

    /// <summary>A new organization whose provider is the test provider, with the given extra settings.</summary>
    public async Task<string> CreateSsoOrgAsync(object? roleMappings = null, string[]? defaultRoles = null, string[]? defaultPermissions = null)
    {
        var orgId = await Server.CreateOrgAsync();
        await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "admin", permissions = new[] { "users:read", "users:write" } });
        await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "viewer", permissions = new[] { "users:read" } });
        var put = await Server.Root.PutAsync($"/api/v1/orgs/{orgId}/sso", new
        {
            issuer = Issuer,
            clientId = ClientId,
            clientSecret = ClientSecret,
            scopes = new[] { "openid", "email", "profile", "groups" },
            roleMappings = roleMappings ?? new[] { new { value = "admins", role = "admin" } },
            defaultRoles = defaultRoles ?? ["viewer"],
            defaultPermissions = defaultPermissions ?? [],
        });
        put.StatusCode.ShouldBe(200, put.Text);
        return orgId;
    }

    /// <summary>A browser: a cookie jar, redirects followed by hand so each hop can be inspected.</summary>
    public Browser NewBrowser() => new(Server.BaseAddress);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An HTTP client with a cookie jar that follows redirects one hop at a time.</summary>
public sealed class Browser(Uri gatehouse) : IDisposable
{
    private readonly HttpClient _http = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
    {
        BaseAddress = gatehouse,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public HttpClient Http => _http;

    /// <summary>From the login route through the provider, up to (not into) Gatehouse's callback; returns the callback URL.</summary>
    public async Task<Uri> RunToCallbackAsync(string loginPathAndQuery)
    {
        var url = new Uri(gatehouse, loginPathAndQuery);
        for (var hop = 0; hop < 20; hop++)
        {
            using var response = await _http.GetAsync(url, TestContext.Current.CancellationToken);
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307) || response.Headers.Location is not { } location)
            {
                throw new ShouldAssertException($"{url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
            }

            var next = location.IsAbsoluteUri ? location : new Uri(url, location);
            if (next.AbsolutePath == "/api/v1/auth/oidc/callback")
            {
                return next;
            }

            url = next;
        }

        throw new ShouldAssertException("No callback after 20 redirects.");
    }

    /// <summary>Opens the callback (or any Gatehouse URL) without following its redirect.</summary>
    public async Task<ApiResponse> OpenAsync(Uri url)
    {
        using var response = await _http.GetAsync(url, TestContext.Current.CancellationToken);
        return new ApiResponse(response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), response.Headers, response.Content.Headers);
    }

    public async Task<ApiResponse> GetAsync(string path) => await OpenAsync(new Uri(gatehouse, path));

    public void Dispose() => _http.Dispose();
}
