using Gatehouse.Server.Features.Webhooks;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>
/// Claims on outbox rows (decision 0016): a random token and a short lease, renewed while the
/// attempt is in flight; a dead node's claim lapses with its lease; a result is recorded only while
/// its claim still holds. The "other node" is played by writing its claim into the row directly.
/// </summary>
public sealed class WebhookClaimTests
{
    private static WebhookDispatcher Dispatcher(GatehouseServer server) =>
        server.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<WebhookDispatcher>().Single();

    private static async Task<WebhookDelivery> DeliveryAsync(GatehouseServer server, string webhookId)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        return await db.Set<WebhookDelivery>().AsNoTracking().SingleAsync(d => d.EndpointId == webhookId);
    }

    private static async Task ClaimAsAnotherNodeAsync(GatehouseServer server, string webhookId, DateTime until)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        (await db.Set<WebhookDelivery>().Where(d => d.EndpointId == webhookId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.ClaimToken, "claim-of-another-node").SetProperty(d => d.LockedUntil, until))).ShouldBe(1);
    }

    /// <summary>A server whose dispatcher only runs when the test runs a pass (DeliveryEnabled=false), on a fake clock.</summary>
    private static Task<GatehouseServer> StartAsync(FakeClock clock) => GatehouseServer.StartAsync(new ServerOptions
    {
        Clock = clock,
        Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:DeliveryEnabled"] = "false" },
    });

    [Fact]
    public async Task A_dead_nodes_claim_is_free_once_its_lease_has_passed()
    {
        var clock = new FakeClock();
        await using var server = await StartAsync(clock);
        await using var receiver = await WebhookReceiver.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, receiver.Url(), "role.created");
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "claimed", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        var leaseEnd = clock.GetUtcNow().UtcDateTime.AddSeconds(30);
        await ClaimAsAnotherNodeAsync(server, webhookId, leaseEnd);

        var whileHeld = await Dispatcher(server).RunOnceAsync(CancellationToken.None);
        clock.Set(leaseEnd);
        var atLeaseEnd = await Dispatcher(server).RunOnceAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var afterLease = await Dispatcher(server).RunOnceAsync(CancellationToken.None);

        whileHeld.ShouldBe(0);
        atLeaseEnd.ShouldBe(0);
        afterLease.ShouldBe(1);
        receiver.Received.Count.ShouldBe(1);
        var delivery = await DeliveryAsync(server, webhookId);
        delivery.Status.ShouldBe(WebhookDelivery.Succeeded);
        delivery.Attempts.ShouldBe(1);
        delivery.ClaimToken.ShouldBeNull();
        delivery.LockedUntil.ShouldBeNull();
    }

    [Fact]
    public async Task An_attempt_whose_claim_was_taken_while_sending_records_nothing()
    {
        var clock = new FakeClock();
        await using var server = await StartAsync(clock);
        await using var receiver = await WebhookReceiver.StartAsync();
        var arrived = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        // The receiver holds the attempt open until the test has taken the claim away.
        receiver.Delay = _ =>
        {
            arrived.TrySetResult();
            release.Task.Wait(TimeSpan.FromSeconds(30));
            return TimeSpan.Zero;
        };
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, receiver.Url(), "role.created");
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "stolen", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        var lostBefore = (await MetricsScrape.ReadAsync(server, "gatehouse_webhook_claims_lost_total"))[0];

        var pass = Dispatcher(server).RunOnceAsync(CancellationToken.None);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await ClaimAsAnotherNodeAsync(server, webhookId, clock.GetUtcNow().UtcDateTime.AddSeconds(30));
        release.SetResult();
        (await pass).ShouldBe(1);

        receiver.Received.Count.ShouldBe(1);
        var delivery = await DeliveryAsync(server, webhookId);
        delivery.Status.ShouldBe(WebhookDelivery.Pending);
        delivery.Attempts.ShouldBe(0);
        delivery.ClaimToken.ShouldBe("claim-of-another-node");
        (await server.DeliveriesAsync(orgId, webhookId)).Single().GetProperty("attempts").GetArrayLength().ShouldBe(0);
        (await MetricsScrape.ReadAsync(server, "gatehouse_webhook_claims_lost_total"))[0].ShouldBe(lostBefore + 1);
        server.Logs.All.ShouldContain("the claim lapsed while sending");
    }

    [Fact]
    public async Task A_send_longer_than_the_lease_keeps_its_claim_and_is_sent_once()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Webhooks:ClaimLeaseSeconds"] = "3" },
        });
        await using var receiver = await WebhookReceiver.StartAsync();
        // Real time on purpose: the lease lapses on real time unless the sender renews it, and the
        // dispatcher polls every second, so a lapsed claim would be sent a second time meanwhile.
        receiver.Delay = _ => TimeSpan.FromSeconds(7);
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, receiver.Url(), "role.created");
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "slow", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);

        var firstLease = await Eventually.ValueAsync(async () => (await DeliveryAsync(server, webhookId)).LockedUntil, until => until is not null,
            "the delivery to be claimed");
        await Eventually.TrueAsync(async () => (await DeliveryAsync(server, webhookId)).LockedUntil > firstLease, "the claim to be renewed while the receiver is slow");
        var done = (await server.WaitForDeliveriesAsync(orgId, webhookId, d => d[0].GetProperty("status").GetString() == "succeeded"))[0];

        done.AttemptCount().ShouldBe(1);
        receiver.Received.Count.ShouldBe(1);
    }
}
