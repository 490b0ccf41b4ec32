using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Server.Tests.ServiceAccounts;

/// <summary>
/// Deleting a service account revokes its keys and deletes it in one transaction: a server killed
/// with <c>kill -9</c> in the middle of deleting one with 2 000 keys restarts to find the account
/// with every key live, or the account gone with every key revoked — never a mix.
/// </summary>
public sealed class ServiceAccountCrashTests : IAsyncLifetime
{
    private const string RootKey = "gkr_service_account_crash_root_key_0123456789";
    private const int KeyCount = 2_000;
    private const int ProbeKeyCount = 200;
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "sa-crash-" + Guid.NewGuid().ToString("N"));
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
    public async Task Killing_the_server_while_it_deletes_a_service_account_leaves_all_its_keys_revoked_or_none()
    {
        var environment = new Dictionary<string, string?>
        {
            ["GATEHOUSE_DATA_DIR"] = _dataDir,
            ["GATEHOUSE_DATABASE_URL"] = _database!.Url,
            ["GATEHOUSE_ROOT_KEY"] = RootKey,
            // Thousands of set-up calls by one root key: the admin policy would throttle them.
            ["Gatehouse__RateLimits__Enabled"] = "false",
        };
        string orgId;
        string accountId;
        TimeSpan aim;
        await using (var server = ServerProcess.Start(environment))
        {
            (await server.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(server.StandardError);
            using var http = Client(server.BaseAddress);
            orgId = (await PostAsync(http, "/api/v1/orgs", new { name = "Service account crash" })).GetProperty("id").GetString()!;

            // Aim the kill into the delete's transaction: time an undisturbed delete of an account with a
            // tenth of the keys. The big one takes a few times longer (a fixed part does not grow with
            // the keys), so one and a half probes lands inside it. The time only aims; it is never asserted.
            // A first delete pays the one-time costs (compiling queries) that would skew the probe.
            var warmUpId = await CreateAccountWithKeysAsync(http, orgId, "warm-up", 1);
            (await http.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{warmUpId}")).Dispose();
            var probeId = await CreateAccountWithKeysAsync(http, orgId, "probe", ProbeKeyCount);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using (var probe = await http.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{probeId}"))
            {
                ((int)probe.StatusCode).ShouldBe(200, await probe.Content.ReadAsStringAsync());
            }

            aim = clock.Elapsed * 1.5;
            accountId = await CreateAccountWithKeysAsync(http, orgId, "crash", KeyCount);
            var delete = http.DeleteAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}");
            await Task.Delay(aim);
            server.KillHard();
            try
            {
                using var response = await delete;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // The server is gone; the restart tells what happened.
            }
        }

        await using var restarted = ServerProcess.Start(environment);
        (await restarted.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(restarted.StandardError);
        using var check = Client(restarted.BaseAddress);
        var account = await check.GetAsync($"/api/v1/orgs/{orgId}/service-accounts/{accountId}");
        var keys = await OwnedKeysAsync(check, orgId, accountId);
        keys.Count.ShouldBe(KeyCount);
        var revoked = keys.Count(k => k.GetProperty("revokedAt").ValueKind != JsonValueKind.Null);
        TestContext.Current.TestOutputHelper?.WriteLine($"killed {aim.TotalMilliseconds:F0} ms into the delete: account {(int)account.StatusCode}, {revoked} of {KeyCount} keys revoked");
        if ((int)account.StatusCode == 200)
        {
            revoked.ShouldBe(0, "the account survived the crash, so every key it owns must still be live");
        }
        else
        {
            ((int)account.StatusCode).ShouldBe(404);
            revoked.ShouldBe(KeyCount, "the account is gone, so every key it owned must be revoked");
        }

        var chain = JsonDocument.Parse(await check.GetStringAsync($"/api/v1/orgs/{orgId}/audit-logs/verify")).RootElement.GetProperty("data");
        chain.GetProperty("valid").GetBoolean().ShouldBeTrue(chain.ToString());
        restarted.KillHard();
    }

    /// <summary>A service account (its first key included) owning <paramref name="keys"/> live keys.</summary>
    private static async Task<string> CreateAccountWithKeysAsync(HttpClient http, string orgId, string name, int keys)
    {
        var accountId = (await PostAsync(http, $"/api/v1/orgs/{orgId}/service-accounts", new { name, permissions = new[] { "deploy:write" } }))
            .GetProperty("serviceAccount").GetProperty("id").GetString()!;
        await Parallel.ForAsync(1, keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
            await PostAsync(http, $"/api/v1/orgs/{orgId}/api-keys", new { name = $"{name} {i}", permissions = new[] { "deploy:write" }, ownerId = accountId }));
        return accountId;
    }

    private static async Task<List<JsonElement>> OwnedKeysAsync(HttpClient http, string orgId, string accountId)
    {
        var keys = new List<JsonElement>();
        for (var offset = 0; ; offset += 200)
        {
            var page = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/orgs/{orgId}/api-keys?ownerId={accountId}&includeRevoked=true&limit=200&offset={offset}"))
                .RootElement.GetProperty("data");
            keys.AddRange(page.EnumerateArray().Select(k => k.Clone()));
            if (page.GetArrayLength() < 200)
            {
                return keys;
            }
        }
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(201, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("data").Clone();
    }

    private static HttpClient Client(Uri baseAddress)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", RootKey);
        return http;
    }
}
