using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>kill -9 during writes: the server comes back, migrations are not re-applied, every acknowledged write is there.</summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private const string RootKey = "gkr_crash_test_root_key_0123456789abcdef";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "crash-" + Guid.NewGuid().ToString("N"));
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
    public async Task Every_acknowledged_write_survives_kill_9_and_migrations_are_not_reapplied()
    {
        var environment = new Dictionary<string, string?>
        {
            ["GATEHOUSE_DATA_DIR"] = _dataDir,
            ["GATEHOUSE_DATABASE_URL"] = _database!.Url,
            ["GATEHOUSE_ROOT_KEY"] = RootKey,
        };
        var acknowledged = new ConcurrentBag<string>();
        await using (var server = ServerProcess.Start(environment))
        {
            (await server.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(server.StandardError);
            using var http = Client(server.BaseAddress);
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(async writer =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        using var response = await http.PostAsJsonAsync("/api/v1/orgs", new { name = $"crash {writer} {i}" }, CancellationToken.None);
                        if ((int)response.StatusCode == 201)
                        {
                            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(CancellationToken.None));
                            acknowledged.Add(body.RootElement.GetProperty("data").GetProperty("id").GetString()!);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return; // the server is gone
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            }).ToList();

            while (acknowledged.Count < 60)
            {
                await Task.Delay(20);
            }

            server.KillHard();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        await using var restarted = ServerProcess.Start(environment);
        (await restarted.WaitHealthyAsync(TimeSpan.FromSeconds(60))).ShouldBeTrue(restarted.StandardError);
        restarted.StandardOutput.ShouldNotContain("Applied migration");
        using var check = Client(restarted.BaseAddress);
        foreach (var id in acknowledged)
        {
            var response = await check.GetAsync($"/api/v1/orgs/{id}");
            ((int)response.StatusCode).ShouldBe(200, $"acknowledged org {id} was lost");
        }
    }

    private static HttpClient Client(Uri baseAddress)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", RootKey);
        return http;
    }
}
