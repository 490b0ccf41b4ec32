using System.Globalization;
using Gatehouse.Client;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.Orgs;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>
/// Retries, idempotency keys, timeouts, cancellation and the verdict cache, against a server of its
/// own: a fake clock (the SDK's waits move it) and 3 requests a minute for standard keys.
/// </summary>
public sealed class SdkResilienceTests : IAsyncLifetime
{
    private readonly FakeClock _clock = new();
    private GatehouseServer? _server;

    private GatehouseServer Server => _server!;

    public async ValueTask InitializeAsync() => _server = await GatehouseServer.StartAsync(new ServerOptions
    {
        Clock = _clock,
        Settings = new Dictionary<string, string?> { ["Gatehouse:RateLimits:PerMinute"] = "3" },
    });

    public async ValueTask DisposeAsync() => await _server!.DisposeAsync();

    private async Task<(string OrgId, string Key, GatehouseClient Root)> OrgWithKeyAsync(params string[] permissions)
    {
        var root = SdkHarness.Client(Server, GatehouseServer.RootKey);
        var org = await root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Resilience " + Guid.NewGuid().ToString("N")[..6] });
        var key = await root.ApiKeys.CreateAsync(org.Id, new CreateApiKeyRequest { Name = "worker", Permissions = [.. permissions] });
        return (org.Id, key.Key, root);
    }

    [Fact]
    public async Task A_429_is_retried_after_its_Retry_After_with_the_same_Idempotency_Key()
    {
        var (orgId, key, root) = await OrgWithKeyAsync("api_keys:read", "api_keys:write");
        using var _ = root;
        var waits = new ServerClockWaits(_clock);
        var recorder = new AttemptRecorder();
        using var client = SdkHarness.Client(Server, key, o =>
        {
            o.TimeProvider = waits;
            o.MaxAttempts = 4;
            o.MaxRetryDelay = TimeSpan.FromMinutes(5);
        }, recorder);
        for (var i = 0; i < 3; i++)
        {
            await client.ApiKeys.ListAsync(orgId);
        }

        var limited = await Server.CreateClient(key).GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        limited.StatusCode.ShouldBe(429);
        var retryAfter = TimeSpan.FromSeconds(int.Parse(limited.Header("Retry-After")!, CultureInfo.InvariantCulture));

        var created = await client.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "made-after-429" });

        var posts = recorder.Attempts.Where(a => a.Method == HttpMethod.Post).ToList();
        posts[0].Status.ShouldBe(429);
        posts[^1].Status.ShouldBe(201);
        posts.Select(a => a.IdempotencyKey).Distinct().ShouldHaveSingleItem().ShouldNotBeNullOrEmpty();
        waits.Waits.First().ShouldBe(retryAfter);
        var named = await root.ApiKeys.ListAsync(orgId, new ApiKeyListQuery { Q = "made-after-429" });
        named.Items.ShouldHaveSingleItem().Id.ShouldBe(created.Id);
    }

    [Fact]
    public async Task A_lost_response_is_retried_with_the_same_key_and_the_server_creates_one_key()
    {
        var root = SdkHarness.Client(Server, GatehouseServer.RootKey);
        using var _ = root;
        var recorder = new AttemptRecorder(loseFirstPostResponse: true);
        using var client = SdkHarness.Client(Server, GatehouseServer.RootKey, handler: recorder);
        var slug = "lost-" + Guid.NewGuid().ToString("N")[..10];

        var created = await client.Organizations.CreateAsync(new CreateOrgRequest { Name = "Lost answer", Slug = slug });

        recorder.Attempts.Count.ShouldBe(2);
        recorder.Attempts.Select(a => a.IdempotencyKey).Distinct().ShouldHaveSingleItem();
        recorder.Attempts.ShouldAllBe(a => a.Status == 201);
        (await root.Organizations.ListAsync(new OrgListQuery { Q = slug })).Items.ShouldHaveSingleItem().Id.ShouldBe(created.Id);
    }

    [Fact]
    public async Task A_caller_supplied_Idempotency_Key_replays_the_first_answer()
    {
        using var root = SdkHarness.Client(Server, GatehouseServer.RootKey);
        var options = new RequestOptions { IdempotencyKey = "sdk-" + Guid.NewGuid().ToString("N") };

        var first = await root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Once" }, options);
        var again = await root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Once" }, options);

        again.Id.ShouldBe(first.Id);
        await Should.ThrowAsync<GatehouseConflictException>(() => root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Another body" }, options));
    }

    [Fact]
    public async Task When_attempts_run_out_the_429_is_thrown_with_its_Retry_After()
    {
        var (orgId, key, root) = await OrgWithKeyAsync("orgs:read");
        using var _ = root;
        using var client = SdkHarness.Client(Server, key, o => o.MaxAttempts = 1);
        for (var i = 0; i < 3; i++)
        {
            await client.Organizations.GetAsync(orgId);
        }

        var limited = await Should.ThrowAsync<GatehouseRateLimitException>(() => client.Organizations.GetAsync(orgId));

        limited.StatusCode.ShouldBe((System.Net.HttpStatusCode)429);
        limited.RetryAfter.ShouldNotBeNull().ShouldBeGreaterThan(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_on_every_attempt()
    {
        using var silent = new SilentServer();
        using var client = new GatehouseClient(new GatehouseClientOptions
        {
            BaseUrl = silent.BaseUrl,
            ApiKey = "k",
            MaxAttempts = 2,
            // Long enough that each attempt connects to the loopback listener even on a loaded machine
            // (the timeout covers the connect too): the server must see both attempts.
            RequestTimeout = TimeSpan.FromSeconds(2),
            InitialRetryDelay = TimeSpan.FromMilliseconds(1),
        });

        var failure = await Should.ThrowAsync<GatehouseUnavailableException>(() => client.Health.GetAsync());

        failure.TimedOut.ShouldBeTrue();
        // The kernel accepted both connections before the call gave up; the listener's accept loop may count the second a moment later.
        await Eventually.TrueAsync(() => silent.Connections == 2, "both attempts connected");
        silent.Connections.ShouldBe(2);
    }

    [Fact]
    public async Task The_callers_cancellation_ends_the_call_at_once_without_retrying()
    {
        using var silent = new SilentServer();
        using var client = new GatehouseClient(new GatehouseClientOptions { BaseUrl = silent.BaseUrl, ApiKey = "k", MaxAttempts = 5 });
        using var cancel = new CancellationTokenSource();

        var call = client.Organizations.ListAsync(cancellationToken: cancel.Token);
        await Eventually.TrueAsync(() => silent.Connections == 1, "the request reached the silent server");
        await cancel.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => call);
        silent.Connections.ShouldBe(1);
    }

    [Fact]
    public async Task An_unreachable_server_is_GatehouseUnavailableException_after_the_attempts()
    {
        using var client = new GatehouseClient(new GatehouseClientOptions
        {
            BaseUrl = $"http://127.0.0.1:{SdkHarness.ClosedPort()}",
            ApiKey = "k",
            MaxAttempts = 2,
            InitialRetryDelay = TimeSpan.FromMilliseconds(1),
        });

        var failure = await Should.ThrowAsync<GatehouseUnavailableException>(() => client.VerifyAsync("gk_whatever"));

        failure.TimedOut.ShouldBeFalse();
        failure.InnerException.ShouldBeOfType<HttpRequestException>();
    }

    [Fact]
    public async Task The_verdict_cache_answers_repeats_from_memory_until_its_ttl_passes()
    {
        using var root = SdkHarness.Client(Server, GatehouseServer.RootKey);
        var org = await root.Organizations.CreateAsync(new CreateOrgRequest { Name = "Cached" });
        var metered = await root.ApiKeys.CreateAsync(org.Id, new CreateApiKeyRequest { Name = "metered", Remaining = 10, Permissions = ["docs:read"] });
        using var cached = SdkHarness.Client(Server, GatehouseServer.RootKey, o =>
        {
            o.VerifyCacheTtl = TimeSpan.FromSeconds(30);
            o.TimeProvider = _clock;
        });

        (await cached.VerifyAsync(metered.Key, "docs:read")).Remaining.ShouldBe(9);
        (await cached.VerifyAsync(metered.Key, "docs:read")).Remaining.ShouldBe(9);
        (await cached.VerifyAsync(metered.Key)).Remaining.ShouldBe(8);
        (await root.ApiKeys.GetAsync(org.Id, metered.Id)).Remaining.ShouldBe(8);

        _clock.Advance(TimeSpan.FromSeconds(31));
        (await cached.VerifyAsync(metered.Key, "docs:read")).Remaining.ShouldBe(7);
    }

    [Fact]
    public async Task Jobs_list_trigger_run_and_stats()
    {
        using var root = SdkHarness.Client(Server, GatehouseServer.RootKey);
        var job = (await root.Jobs.ListAsync()).First(j => !j.Running);

        var triggered = await root.Jobs.TriggerAsync(job.Name);

        (await root.Jobs.GetRunAsync(triggered.RunId)).Job.ShouldBe(job.Name);
        await Eventually.TrueAsync(async () => (await root.Jobs.GetRunAsync(triggered.RunId)).FinishedAt is not null, "the manual run finishes");
        (await root.Jobs.GetStatsAsync(job.Name)).Runs.ShouldBeGreaterThanOrEqualTo(1);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => root.Jobs.GetStatsAsync("no-such-job"));
    }
}
