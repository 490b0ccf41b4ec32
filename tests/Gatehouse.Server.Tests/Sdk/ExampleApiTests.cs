using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.Client;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Examples.AspNetCoreApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>examples/aspnetcore-api on Kestrel, pointed at the real Gatehouse (and once at a dead one).</summary>
public sealed class ExampleApiTests(SharedServer shared) : IAsyncLifetime
{
    private readonly List<WebApplication> _apps = [];
    private GatehouseClient? _root;
    private string _orgId = "";
    private HttpClient _example = new();

    private GatehouseClient Root => _root!;

    public async ValueTask InitializeAsync()
    {
        _root = SdkHarness.Client(shared.Server, GatehouseServer.RootKey);
        _orgId = (await Root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Example API" })).Id;
        var serviceKey = await KeyAsync("api_keys:verify");
        _example = new HttpClient { BaseAddress = await StartExampleAsync(shared.Server.BaseAddress.ToString(), serviceKey, failOpen: false) };
    }

    public async ValueTask DisposeAsync()
    {
        _example.Dispose();
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        _root?.Dispose();
    }

    private async Task<string> KeyAsync(params string[] permissions) =>
        (await Root.ApiKeys.CreateAsync(_orgId, new CreateApiKeyRequest { Name = "caller", Permissions = [.. permissions] })).Key;

    private async Task<Uri> StartExampleAsync(string gatehouse, string serviceKey, bool failOpen)
    {
        var app = ExampleApi.Build(["--urls", "http://127.0.0.1:0", "--environment", "Testing"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Gatehouse:BaseUrl"] = gatehouse,
                ["Gatehouse:Key"] = serviceKey,
                ["Gatehouse:FailOpen"] = failOpen ? "true" : "false",
            });
            builder.Logging.ClearProviders();
        });
        await app.StartAsync();
        _apps.Add(app);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? key, bool header = false)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null && header)
        {
            request.Headers.Add("X-API-Key", key);
        }
        else if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    [Fact]
    public async Task The_public_route_needs_no_key_and_a_protected_one_answers_401_without_or_with_a_bad_key()
    {
        (await _example.GetAsync("/")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var missing = await _example.SendAsync(Request(HttpMethod.Get, "/deployments", null));
        missing.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        missing.Headers.WwwAuthenticate.ToString().ShouldContain("Bearer");
        (await _example.SendAsync(Request(HttpMethod.Get, "/deployments", "gk_not_a_key"))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_key_with_the_permission_gets_200_and_its_claims_by_bearer_or_header()
    {
        var key = await KeyAsync("deploy:read");
        var verdict = await Root.VerifyAsync(key, cancellationToken: TestContext.Current.CancellationToken);

        var bearer = await _example.SendAsync(Request(HttpMethod.Get, "/deployments", key));
        var header = await _example.SendAsync(Request(HttpMethod.Get, "/deployments", key, header: true));

        bearer.StatusCode.ShouldBe(HttpStatusCode.OK);
        header.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await bearer.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("keyId").GetString().ShouldBe(verdict.KeyId);
        body.RootElement.GetProperty("orgId").GetString().ShouldBe(_orgId);
    }

    [Fact]
    public async Task A_key_that_falls_short_of_the_permission_query_gets_403_and_one_that_meets_it_200()
    {
        var reader = await KeyAsync("deploy:read");
        var deployer = await KeyAsync("deploy:write", "env:prod");

        (await _example.SendAsync(Request(HttpMethod.Post, "/deployments/prod", reader))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await _example.SendAsync(Request(HttpMethod.Post, "/deployments/prod", deployer))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _example.SendAsync(Request(HttpMethod.Get, "/deployments", deployer))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_rate_limited_key_gets_429_with_Retry_After_after_its_last_allowed_request()
    {
        var key = (await Root.ApiKeys.CreateAsync(_orgId, new CreateApiKeyRequest
        {
            Name = "limited",
            Permissions = ["deploy:read"],
            Ratelimits = [new KeyRateLimit { Name = "requests", Limit = 2, DurationMs = 60_000 }],
        })).Key;

        (await _example.SendAsync(Request(HttpMethod.Get, "/deployments", key))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await _example.SendAsync(Request(HttpMethod.Get, "/deployments", key))).StatusCode.ShouldBe(HttpStatusCode.OK);
        var limited = await _example.SendAsync(Request(HttpMethod.Get, "/deployments", key));

        limited.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter!.Delta!.Value.ShouldBeGreaterThan(TimeSpan.Zero);
    }

    [Fact]
    public async Task Gatehouse_down_is_503_fail_closed_and_passes_when_fail_open()
    {
        var dead = $"http://127.0.0.1:{SdkHarness.ClosedPort()}";
        using var closed = new HttpClient { BaseAddress = await StartExampleAsync(dead, "gk_service_key", failOpen: false) };
        using var open = new HttpClient { BaseAddress = await StartExampleAsync(dead, "gk_service_key", failOpen: true) };

        (await closed.SendAsync(Request(HttpMethod.Get, "/deployments", "gk_any_caller"))).StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await open.SendAsync(Request(HttpMethod.Get, "/deployments", "gk_any_caller"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await closed.SendAsync(Request(HttpMethod.Get, "/deployments", null))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
