namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>Two nodes on one database share the outbox: each delivery is claimed and sent once.</summary>
public sealed class WebhookMultiNodeTests
{
    [Fact]
    public async Task Two_nodes_send_each_delivery_exactly_once()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var first = await GatehouseServer.StartAsync(database: database);
        await using var second = await GatehouseServer.StartAsync(new ServerOptions { DataDir = first.DataDir }, database);
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await first.CreateOrgAsync();
        var (webhookId, _) = await first.CreateWebhookAsync(orgId, receiver.Url(), "role.created");

        await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            (i % 2 == 0 ? first : second).Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"node{i}", permissions = new[] { "a:b" } })));

        await first.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count == 12 && d.All(x => x.GetProperty("status").GetString() == "succeeded"));
        // A duplicate send would already be in flight: nothing can be polled for, so give it more than a dispatch interval (1 s) to land.
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        receiver.Received.Count.ShouldBe(12);
        receiver.Received.Select(r => r.Id).Distinct().Count().ShouldBe(12);
        (await first.DeliveriesAsync(orgId, webhookId)).ShouldAllBe(d => d.AttemptCount() == 1);
    }
}
