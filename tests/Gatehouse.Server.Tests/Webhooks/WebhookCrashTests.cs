namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>
/// The outbox survives <c>kill -9</c>: the server runs as a child process that commits a change
/// (its delivery is held back on that node by <c>Gatehouse:Webhooks:DeliveryEnabled=false</c>, so the kill
/// lands between commit and delivery), is killed, and a restarted server delivers the event.
/// </summary>
public sealed class WebhookCrashTests
{
    private static async Task<ServerProcess> StartChildAsync(string dataDir, string? databaseUrl, bool deliver)
    {
        var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["GATEHOUSE_DATA_DIR"] = dataDir,
            ["GATEHOUSE_DATABASE_URL"] = databaseUrl,
            ["GATEHOUSE_ROOT_KEY"] = GatehouseServer.RootKey,
            ["GATEHOUSE_WEBHOOKS_ALLOW_INSECURE"] = "true",
            ["Gatehouse__Webhooks__DeliveryEnabled"] = deliver ? "true" : "false",
        });
        (await server.WaitHealthyAsync(TimeSpan.FromSeconds(90))).ShouldBeTrue(server.StandardError);
        return server;
    }

    private static ApiClient Root(ServerProcess server) =>
        new(new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) }, GatehouseServer.RootKey);

    [Fact]
    public async Task A_committed_event_is_delivered_after_a_kill_9_and_restart()
    {
        await using var database = await TestDatabase.CreateAsync();
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        await using var receiver = await WebhookReceiver.StartAsync();
        string orgId, webhookId, secret, roleId;
        await using (var first = await StartChildAsync(dataDir, database.Url, deliver: false))
        {
            var root = Root(first);
            orgId = (await root.PostAsync("/api/v1/orgs", new { name = "Crash" })).Str("id");
            var hook = await root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = receiver.Url(), events = new[] { "role.created" } });
            (webhookId, secret) = (hook.Str("id"), hook.Str("secret"));
            var role = await root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "survivor", permissions = new[] { "a:b" } });
            role.StatusCode.ShouldBe(201);
            roleId = role.Str("id");
            first.KillHard();
        }

        receiver.Received.ShouldBeEmpty();
        await using var second = await StartChildAsync(dataDir, database.Url, deliver: true);

        var message = (await receiver.WaitForAsync(r => r.Type == "role.created"))[0];
        message.Json.GetProperty("data").GetProperty("id").GetString().ShouldBe(roleId);
        StandardWebhooksVerifier.Verify(secret, message, DateTimeOffset.UtcNow).ShouldBeTrue();
        var deliveries = await Root(second).GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries");
        deliveries.Data.GetArrayLength().ShouldBe(1);
        second.KillHard();
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
