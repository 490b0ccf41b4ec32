using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Tests.Webhooks;

namespace Gatehouse.Server.Tests.Health;

/// <summary>The heartbeat table: every node writes its row, the admin health report lists the nodes, long-dead rows go.</summary>
public sealed class ClusterNodesTests
{
    private static async Task<int> InsertNodeAsync(GatehouseServer server, string id, DateTime lastSeenAt)
    {
        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        db.Add(new ClusterNodeRecord { Id = id, Host = "elsewhere", Version = "0.9.0", StartedAt = lastSeenAt.AddHours(-1), LastSeenAt = lastSeenAt });
        return await db.SaveChangesAsync();
    }

    private static System.Text.Json.JsonElement Node(ApiResponse health, string id) =>
        health.Data.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("id").GetString() == id);

    [Fact]
    public async Task The_admin_health_report_lists_live_and_dead_nodes()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var now = clock.GetUtcNow().UtcDateTime;
        await InsertNodeAsync(server, "silent:1", now.AddSeconds(-11));
        await InsertNodeAsync(server, "recent:2", now.AddSeconds(-9));

        var health = await server.Root.GetAsync("/api/v1/admin/health");

        health.StatusCode.ShouldBe(200, health.Text);
        var self = Node(health, ClusterNode.Id);
        self.GetProperty("alive").GetBoolean().ShouldBeTrue();
        self.GetProperty("version").GetString().ShouldNotBeNullOrEmpty();
        self.Time("lastSeenAt").ShouldBe(clock.GetUtcNow());
        self.Time("startedAt").ShouldBeLessThanOrEqualTo(self.Time("lastSeenAt"));
        Node(health, "silent:1").GetProperty("alive").GetBoolean().ShouldBeFalse();
        Node(health, "recent:2").GetProperty("alive").GetBoolean().ShouldBeTrue();
        health.Data.GetProperty("components").GetProperty("cluster").GetProperty("details").GetProperty("nodesAlive").GetInt32().ShouldBe(2);
    }

    [Fact]
    public async Task The_heartbeat_moves_this_nodes_row_and_prunes_nodes_silent_for_an_hour()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var now = clock.GetUtcNow().UtcDateTime;
        await InsertNodeAsync(server, "gone:1", now - ClusterOptions.PruneAfter - TimeSpan.FromSeconds(1));
        await InsertNodeAsync(server, "lately:2", now - ClusterOptions.PruneAfter + TimeSpan.FromSeconds(10));

        clock.Advance(TimeSpan.FromSeconds(5));
        (await server.Services.GetRequiredService<ClusterHeartbeat>().RunNowAsync(CancellationToken.None)).ShouldBeTrue();
        var health = await server.Root.GetAsync("/api/v1/admin/health");

        var ids = health.Data.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()).ToList();
        ids.ShouldNotContain("gone:1");
        ids.ShouldContain("lately:2");
        Node(health, ClusterNode.Id).Time("lastSeenAt").ShouldBe(clock.GetUtcNow());
    }

    [Fact]
    public async Task The_node_timeout_must_cover_two_heartbeats()
    {
        var ex = await Should.ThrowAsync<StartupException>(() => GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:Cluster:HeartbeatSeconds"] = "5", ["Gatehouse:Cluster:NodeTimeoutSeconds"] = "9" },
        }));

        ex.Message.ShouldContain("NodeTimeoutSeconds");
    }
}
