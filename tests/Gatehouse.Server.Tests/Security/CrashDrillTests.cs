using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Security;

/// <summary>
/// kill -9 while keys, roles and vault credentials are written concurrently, cycle after cycle on
/// the same database: after every restart each acknowledged write is there (a credential reveals
/// exactly what was stored) and the audit chains verify. GATEHOUSE_CRASH_CYCLES sets the number of
/// cycles (3 by default; the long mode runs 10 or more), on whichever database the suite runs, and
/// no restart applies a migration again.
/// </summary>
public sealed class CrashDrillTests : IAsyncLifetime
{
    private const string RootKey = "gkr_crash_drill_root_key_0123456789abcdef";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "drill-" + Guid.NewGuid().ToString("N"));
    private TestDatabase? _database;

    public async ValueTask InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async ValueTask DisposeAsync()
    {
        await _database!.DisposeAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Acknowledged_keys_roles_and_credentials_survive_repeated_kill_9_and_the_audit_chains_verify()
    {
        var cycles = int.TryParse(Environment.GetEnvironmentVariable("GATEHOUSE_CRASH_CYCLES"), out var c) ? c : 3;
        var environment = new Dictionary<string, string?>
        {
            ["GATEHOUSE_DATA_DIR"] = _dataDir,
            ["GATEHOUSE_DATABASE_URL"] = _database!.Url,
            ["GATEHOUSE_ROOT_KEY"] = RootKey,
        };
        // The drill reads back everything it wrote, as fast as it can: the rate limits are not what it tests.
        foreach (var limit in GatehouseServer.LiftedRateLimits)
        {
            environment["Gatehouse__RateLimits__" + limit] = "1000000000";
        }

        var keys = new ConcurrentBag<string>();
        var roles = new ConcurrentBag<string>();
        var credentials = new ConcurrentDictionary<string, string>();
        string? orgId = null;

        for (var cycle = 0; cycle < cycles; cycle++)
        {
            await using (var server = ServerProcess.Start(environment))
            {
                (await server.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(server.StandardError);
                if (cycle > 0)
                {
                    // A restart after a crash finds the schema complete: nothing is migrated twice.
                    server.StandardOutput.ShouldNotContain("Applied migration");
                }

                using var http = Client(server.BaseAddress);
                if (orgId is null)
                {
                    var org = await http.PostAsJsonAsync("/api/v1/orgs", new { name = "Crash drill" });
                    orgId = JsonDocument.Parse(await org.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetProperty("id").GetString()!;
                }

                await CheckAsync(http, orgId, keys, roles, credentials, cycle);
                var acknowledgedBefore = keys.Count + roles.Count + credentials.Count;
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 6).Select(writer => WriteUntilStoppedAsync(http, orgId, writer, cycle, keys, roles, credentials, stop.Token)).ToList();
                await Eventually.TrueAsync(() => keys.Count + roles.Count + credentials.Count >= acknowledgedBefore + 45,
                    $"45 more acknowledged writes before the kill of cycle {cycle}", TimeSpan.FromSeconds(120));

                server.KillHard();
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }
        }

        await using var final = ServerProcess.Start(environment);
        (await final.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(final.StandardError);
        using var check = Client(final.BaseAddress);
        await CheckAsync(check, orgId!, keys, roles, credentials, cycles);
        keys.Count.ShouldBeGreaterThan(0);
        roles.Count.ShouldBeGreaterThan(0);
        credentials.Count.ShouldBeGreaterThan(0);
    }

    private static async Task WriteUntilStoppedAsync(
        HttpClient http, string orgId, int writer, int cycle, ConcurrentBag<string> keys, ConcurrentBag<string> roles,
        ConcurrentDictionary<string, string> credentials, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var name = $"c{cycle}w{writer}n{i}";
            try
            {
                switch ((writer + i) % 3)
                {
                    case 0:
                        if (await PostAsync(http, $"/api/v1/orgs/{orgId}/api-keys", new { name, permissions = new[] { "deploy:write" } }) is { } key)
                        {
                            keys.Add(key.GetProperty("id").GetString()!);
                        }

                        break;
                    case 1:
                        if (await PostAsync(http, $"/api/v1/orgs/{orgId}/roles", new { name, permissions = new[] { "deploy:read" } }) is { } role)
                        {
                            roles.Add(role.GetProperty("id").GetString()!);
                        }

                        break;
                    default:
                        var secret = "sk_" + Guid.NewGuid().ToString("N");
                        if (await PostAsync(http, $"/api/v1/orgs/{orgId}/credentials", new { integrationId = name, authType = "api_key", name, data = new { apiKey = secret } }) is not null)
                        {
                            credentials[name] = secret;
                        }

                        break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return; // the server is gone
            }
        }
    }

    private static async Task<JsonElement?> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body, CancellationToken.None);
        var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
        return (int)response.StatusCode == 201 ? JsonDocument.Parse(text).RootElement.GetProperty("data").Clone() : null;
    }

    private static async Task CheckAsync(
        HttpClient http, string orgId, ConcurrentBag<string> keys, ConcurrentBag<string> roles, ConcurrentDictionary<string, string> credentials, int cycle)
    {
        foreach (var id in keys)
        {
            ((int)(await http.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).StatusCode).ShouldBe(200, $"acknowledged key {id} was lost before cycle {cycle}");
        }

        foreach (var id in roles)
        {
            ((int)(await http.GetAsync($"/api/v1/orgs/{orgId}/roles/{id}")).StatusCode).ShouldBe(200, $"acknowledged role {id} was lost before cycle {cycle}");
        }

        foreach (var (integrationId, secret) in credentials)
        {
            var reveal = await http.GetAsync($"/api/v1/orgs/{orgId}/credentials/{integrationId}");
            var text = await reveal.Content.ReadAsStringAsync();
            ((int)reveal.StatusCode).ShouldBe(200, $"acknowledged credential {integrationId} was lost before cycle {cycle}: {text}");
            text.ShouldContain(secret);
        }

        foreach (var chain in new[] { $"/api/v1/orgs/{orgId}/audit-logs/verify", "/api/v1/admin/audit-logs/verify" })
        {
            var verify = JsonDocument.Parse(await http.GetStringAsync(chain)).RootElement.GetProperty("data");
            verify.GetProperty("valid").GetBoolean().ShouldBeTrue($"{chain} before cycle {cycle}: {verify}");
        }
    }

    private static HttpClient Client(Uri baseAddress)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", RootKey);
        return http;
    }
}
