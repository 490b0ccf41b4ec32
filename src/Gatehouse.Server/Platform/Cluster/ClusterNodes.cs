using System.ComponentModel.DataAnnotations;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Platform.Cluster;

/// <summary>A server node that shares the database, as its own heartbeat last described it.</summary>
public sealed class ClusterNodeRecord
{
    public required string Id { get; init; }
    public required string Host { get; set; }
    public required string Version { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime LastSeenAt { get; set; }
}

internal sealed class ClusterNodeRecordMapping : IEntityTypeConfiguration<ClusterNodeRecord>
{
    public void Configure(EntityTypeBuilder<ClusterNodeRecord> builder)
    {
        builder.ToTable("cluster_nodes");
        builder.HasKey(n => n.Id);
    }
}

/// <summary>Settings of section <c>Gatehouse:Cluster</c>.</summary>
public sealed class ClusterOptions : IValidatableObject
{
    /// <summary>How often this node writes its <c>last_seen_at</c>.</summary>
    [Range(1, 60)]
    public int HeartbeatSeconds { get; set; } = 2;

    /// <summary>A node whose last heartbeat is older than this is dead: its in-progress idempotent requests may be taken over.</summary>
    [Range(2, 3600)]
    public int NodeTimeoutSeconds { get; set; } = 10;

    /// <summary>Rows of nodes dead for longer than this are deleted.</summary>
    public static readonly TimeSpan PruneAfter = TimeSpan.FromHours(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // One late beat (a pause, a slow database) must not make a live node look dead.
        if (NodeTimeoutSeconds < 2 * HeartbeatSeconds)
        {
            yield return new ValidationResult("must be at least twice HeartbeatSeconds", [nameof(NodeTimeoutSeconds)]);
        }
    }
}

/// <summary>Which nodes share the database and which of them are alive, read from <c>cluster_nodes</c>.</summary>
public sealed class ClusterNodes(IServiceScopeFactory scopes, TimeProvider clock, ClusterOptions options, string version)
{
    /// <summary>When this process started (the injected clock, read once).</summary>
    public DateTime StartedAt { get; } = clock.GetUtcNow().UtcDateTime;

    public TimeSpan NodeTimeout => TimeSpan.FromSeconds(options.NodeTimeoutSeconds);

    public bool IsAlive(ClusterNodeRecord node, DateTime now) => node.Id == ClusterNode.Id || node.LastSeenAt >= now - NodeTimeout;

    /// <summary>Every known node, newest start first.</summary>
    public async Task<IReadOnlyList<ClusterNodeRecord>> ListAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        return await db.Set<ClusterNodeRecord>().AsNoTracking().OrderByDescending(n => n.StartedAt).ThenBy(n => n.Id).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// True when <paramref name="nodeId"/> is this node or sent a heartbeat within the node timeout.
    /// A node without a row is dead: every node writes its row before it listens, and rows are only
    /// pruned an hour after their node stopped.
    /// </summary>
    public async Task<bool> IsAliveAsync(GatehouseDb db, string nodeId, CancellationToken cancellationToken)
    {
        if (nodeId == ClusterNode.Id)
        {
            return true;
        }

        var since = clock.GetUtcNow().UtcDateTime - NodeTimeout;
        return await db.Set<ClusterNodeRecord>().AsNoTracking().AnyAsync(n => n.Id == nodeId && n.LastSeenAt >= since, cancellationToken);
    }

    /// <summary>Writes this node's row (inserted on the first beat, then moved on); the same SQL on both providers.</summary>
    public async Task BeatAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO cluster_nodes (id, host, version, started_at, last_seen_at) VALUES ({ClusterNode.Id}, {ClusterNode.Host}, {version}, {StartedAt}, {now})
            ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at
            """, cancellationToken);
    }

    /// <summary>Deletes the rows of nodes silent for longer than <see cref="ClusterOptions.PruneAfter"/>; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var cutoff = clock.GetUtcNow().UtcDateTime - ClusterOptions.PruneAfter;
        return await db.Set<ClusterNodeRecord>().Where(n => n.LastSeenAt < cutoff && n.Id != ClusterNode.Id).ExecuteDeleteAsync(cancellationToken);
    }
}

/// <summary>
/// Keeps this node's row in <c>cluster_nodes</c> fresh and prunes the rows of long-dead nodes. The
/// first beat is written before the server listens, so no request of this node can leave a record
/// owned by a node the others do not know.
/// </summary>
public sealed class ClusterHeartbeat(ClusterNodes nodes, ClusterOptions options, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<ClusterHeartbeat> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "cluster-heartbeat";

    public override string Name => JobName;

    public override string Description => "Records that this node is alive in cluster_nodes and deletes the rows of nodes silent for over an hour.";

    public override TimeSpan Interval => TimeSpan.FromSeconds(options.HeartbeatSeconds);

    /// <summary>Each node beats for itself.</summary>
    public override JobPlacement Placement => JobPlacement.EveryNode;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await nodes.BeatAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await nodes.BeatAsync(cancellationToken);
        var pruned = await nodes.PruneAsync(cancellationToken);
        if (pruned > 0)
        {
            Logger.LogInformation("Deleted {Count} rows of nodes silent for over {Hours} h", pruned, ClusterOptions.PruneAfter.TotalHours);
        }

        // A beat alone is not worth a run row every two seconds; a prune is.
        return new JobPass(Succeeded: true, DidWork: pruned > 0);
    }
}
