namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>Retries follow the schedule of docs/webhooks.md (plus up to 10 % jitter) on a fake clock.</summary>
public sealed class WebhookRetryTests
{
    private static readonly TimeSpan[] Schedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    [Fact]
    public async Task A_failing_delivery_is_retried_on_the_schedule_then_marked_failed()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = _ => (503, "busy");
        var dispatcher = server.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<Gatehouse.Server.Features.Webhooks.WebhookDispatcher>().Single();
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, receiver.Url(), "role.created");
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "retried", permissions = new[] { "a:b" } });

        for (var attempt = 1; attempt <= Schedule.Length; attempt++)
        {
            var delivery = (await server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 1 && d[0].AttemptCount() == attempt))[0];
            delivery.GetProperty("status").GetString().ShouldBe("pending");
            var wait = delivery.Time("nextAttemptAt") - delivery.Time("lastAttemptAt");
            wait.ShouldBeGreaterThanOrEqualTo(Schedule[attempt - 1]);
            wait.ShouldBeLessThanOrEqualTo(Schedule[attempt - 1] * 1.1 + TimeSpan.FromMilliseconds(1));

            // Just before the retry is due a dispatch pass sends nothing; at the due time it is sent.
            clock.Advance(wait - TimeSpan.FromSeconds(1));
            await dispatcher.RunOnceAsync(TestContext.Current.CancellationToken);
            (await server.DeliveriesAsync(orgId, webhookId))[0].AttemptCount().ShouldBe(attempt);
            clock.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(1));
        }

        var failed = (await server.WaitForDeliveriesAsync(orgId, webhookId, d => d[0].AttemptCount() == 8))[0];
        failed.GetProperty("status").GetString().ShouldBe("failed");
        failed.GetProperty("nextAttemptAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        failed.GetProperty("attempts").EnumerateArray().ShouldAllBe(a => a.GetProperty("statusCode").GetInt32() == 503 && a.GetProperty("responseExcerpt").GetString() == "busy");
        receiver.Received.Count.ShouldBe(8);
        receiver.Received.Select(r => r.Id).Distinct().Count().ShouldBe(1);
    }

    [Fact]
    public async Task A_retry_that_succeeds_completes_the_delivery()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        await using var receiver = await WebhookReceiver.StartAsync();
        var calls = 0;
        receiver.Respond = _ => Interlocked.Increment(ref calls) == 1 ? (500, "down") : (204, "");
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, receiver.Url(), "org.updated");
        await server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "Changed" });
        await server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 1 && d[0].AttemptCount() == 1);

        clock.Advance(TimeSpan.FromSeconds(6));

        var done = (await server.WaitForDeliveriesAsync(orgId, webhookId, d => d[0].GetProperty("status").GetString() == "succeeded"))[0];
        done.AttemptCount().ShouldBe(2);
        done.GetProperty("lastStatusCode").GetInt32().ShouldBe(204);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}")).Data.GetProperty("failingSince").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task An_endpoint_failing_for_five_days_is_disabled_and_an_event_says_so()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = context => context.Request.Path == "/failing" ? (500, "no") : (200, "ok");
        var orgId = await server.CreateOrgAsync();
        var (failingId, _) = await server.CreateWebhookAsync(orgId, receiver.Url("/failing"), "role.created");
        var (watcherId, watcherSecret) = await server.CreateWebhookAsync(orgId, receiver.Url("/watcher"), "webhook.disabled");
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "first", permissions = new[] { "a:b" } });
        await server.WaitForDeliveriesAsync(orgId, failingId, d => d.Count == 1 && d[0].AttemptCount() == 1);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{failingId}")).Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();

        clock.Advance(TimeSpan.FromDays(5) + TimeSpan.FromMinutes(1));
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "second", permissions = new[] { "a:b" } });

        var notice = (await receiver.WaitForAsync(r => r.Type == "webhook.disabled"))[0];
        notice.Path.ShouldBe("/watcher");
        notice.Json.GetProperty("data").GetProperty("id").GetString().ShouldBe(failingId);
        StandardWebhooksVerifier.Verify(watcherSecret, notice, clock.GetUtcNow()).ShouldBeTrue();
        var endpoint = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{failingId}");
        endpoint.Data.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        endpoint.Str("disabledReason").ShouldBe("failing");
        var audit = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=webhook.disable");
        audit.Data.GetArrayLength().ShouldBe(1);
        audit.Data[0].GetProperty("actor").GetProperty("type").GetString().ShouldBe("system");
        (await server.WaitForDeliveriesAsync(orgId, watcherId, d => d.Count == 1)).Count.ShouldBe(1);

        // Re-enabling clears the failure record.
        var enabled = await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{failingId}", new { enabled = true });
        enabled.Data.GetProperty("disabledReason").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        enabled.Data.GetProperty("failingSince").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }
}
