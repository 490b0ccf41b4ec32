using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>
/// The outbox survives <c>kill -9</c>: the server runs as a child process that commits a change
/// (its delivery is held back on that node by <c>Gatehouse:Webhooks:DeliveryEnabled=false</c>, so the kill
/// lands between commit and delivery), is killed, and a restarted server delivers the event.
/// </summary>
public sealed class WebhookCrashTests
{
    private sealed class ChildServer(Process process, Uri baseAddress) : IDisposable
    {
        public Uri BaseAddress { get; } = baseAddress;

        public ApiClient Root { get; } = new(new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) }, GatehouseServer.RootKey);

        public static async Task<ChildServer> StartAsync(string dataDir, string? databaseUrl, bool deliver)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = dataDir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Gatehouse.Server.dll"));
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            start.Environment["GATEHOUSE_DATA_DIR"] = dataDir;
            start.Environment["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey;
            start.Environment["GATEHOUSE_WEBHOOKS_ALLOW_INSECURE"] = "true";
            start.Environment["Gatehouse__Webhooks__DeliveryEnabled"] = deliver ? "true" : "false";
            if (databaseUrl is not null)
            {
                start.Environment["GATEHOUSE_DATABASE_URL"] = databaseUrl;
            }
            else
            {
                start.Environment.Remove("GATEHOUSE_DATABASE_URL");
            }

            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new ChildServer(process, new Uri($"http://127.0.0.1:{port}"));
            using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    if ((await http.GetAsync("/health")).IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException)
                {
                    // Starting on a busy machine: the health probe timed out; ask again.
                }

                await Task.Delay(200);
            }

            server.Dispose();
            throw new TimeoutException("The child server did not become healthy.");
        }

        /// <summary>SIGKILL: no shutdown hooks, no flushing.</summary>
        public void Kill()
        {
            process.Kill();
            process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                Kill();
            }

            process.Dispose();
        }
    }

    [Fact]
    public async Task A_committed_event_is_delivered_after_a_kill_9_and_restart()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        await using var receiver = await WebhookReceiver.StartAsync();
        string orgId, webhookId, secret, roleId;
        using (var first = await ChildServer.StartAsync(dataDir, database.Url, deliver: false))
        {
            orgId = (await first.Root.PostAsync("/api/v1/orgs", new { name = "Crash" })).Str("id");
            var hook = await first.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = receiver.Url(), events = new[] { "role.created" } });
            (webhookId, secret) = (hook.Str("id"), hook.Str("secret"));
            var role = await first.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "survivor", permissions = new[] { "a:b" } });
            role.StatusCode.ShouldBe(201);
            roleId = role.Str("id");
            first.Kill();
        }

        receiver.Received.ShouldBeEmpty();
        using var second = await ChildServer.StartAsync(dataDir, database.Url, deliver: true);

        var message = (await receiver.WaitForAsync(r => r.Type == "role.created"))[0];
        message.Json.GetProperty("data").GetProperty("id").GetString().ShouldBe(roleId);
        StandardWebhooksVerifier.Verify(secret, message, DateTimeOffset.UtcNow).ShouldBeTrue();
        var deliveries = await second.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries");
        deliveries.Data.GetArrayLength().ShouldBe(1);
        second.Kill();
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the machine's temp cleanup.
        }
    }
}
