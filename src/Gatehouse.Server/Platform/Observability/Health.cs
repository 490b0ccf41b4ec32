using System.Diagnostics;
using Gatehouse.Contracts.Health;
using Gatehouse.Server.Platform.Cluster;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Observability;

/// <summary>A part of the server whose health the admin report shows (database, keyring, jobs, cluster …).</summary>
public interface IHealthComponent
{
    string Name { get; }
    Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>Round trip to the database with a latency figure; a failure marks the server unhealthy.</summary>
public sealed class DatabaseHealth(IServiceScopeFactory scopes) : IHealthComponent
{
    public string Name => "database";

    public async Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token);
            return new ComponentHealth(ComponentHealth.Healthy, Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3),
                new Dictionary<string, object?> { ["provider"] = db.IsPostgres ? "postgresql" : "sqlite" });
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new ComponentHealth(ComponentHealth.Unhealthy, Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3),
                new Dictionary<string, object?> { ["error"] = "unreachable" });
        }
    }
}

/// <summary>
/// This node as a member of the cluster, and the nodes it can see through the heartbeat table.
/// Never unhealthy by itself: a dead peer is the peer's problem, and an unreachable database is the
/// database component's.
/// </summary>
public sealed class ClusterHealth(DatabaseTarget target, ClusterNodes nodes, TimeProvider clock, ILogger<ClusterHealth> logger) : IHealthComponent
{
    public string Name => "cluster";

    public async Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var listed = await NodesAsync(cancellationToken);
        return new ComponentHealth(ComponentHealth.Healthy, null, new Dictionary<string, object?>
        {
            ["nodeId"] = ClusterNode.Id,
            ["mode"] = target.Provider == DatabaseProvider.Postgres ? "shared-database" : "single-node",
            ["nodesAlive"] = listed.Count(n => n.Alive),
        });
    }

    /// <summary>Every node in the heartbeat table; empty when the database cannot be read (its own component says so).</summary>
    public async Task<IReadOnlyList<ClusterNodeView>> NodesAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            var rows = await nodes.ListAsync(timeout.Token);
            var now = clock.GetUtcNow().UtcDateTime;
            return [.. rows.Select(n => new ClusterNodeView(n.Id, n.Version, n.StartedAt, n.LastSeenAt, nodes.IsAlive(n, now)))];
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "The node table could not be read");
            return [];
        }
    }
}

/// <summary>Background jobs report here; each registers itself with <see cref="JobRegistry"/>.</summary>
public sealed class JobsHealth(JobRegistry registry) : IHealthComponent
{
    public string Name => "jobs";

    public Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var jobs = registry.Snapshot();
        var failing = jobs.Where(j => j.Value.ConsecutiveFailures >= 3).Select(j => j.Key).ToList();
        return Task.FromResult(new ComponentHealth(failing.Count == 0 ? ComponentHealth.Healthy : ComponentHealth.Unhealthy, null,
            new Dictionary<string, object?> { ["jobs"] = jobs, ["failing"] = failing }));
    }
}

/// <summary>
/// One <see cref="IHealthComponent"/> as a check of <c>Microsoft.Extensions.Diagnostics.HealthChecks</c>;
/// the components named in <see cref="Readiness"/> decide /health/ready.
/// </summary>
public sealed class ComponentHealthCheck(IHealthComponent component) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public const string ReadyTag = "ready";

    /// <summary>What must work before a node takes traffic: its database, its key material and its background jobs.</summary>
    public static readonly string[] Readiness = ["database", "keyring", "jobs"];

    public async Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = await component.CheckAsync(cancellationToken);
        return health.Status switch
        {
            ComponentHealth.Healthy => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy(),
            // Degraded still serves: the node stays in rotation while an operator looks.
            ComponentHealth.Degraded => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded(),
            _ => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(),
        };
    }

    /// <summary>Registers a readiness check per component in <see cref="Readiness"/>, resolved by name when first run.</summary>
    public static void AddReadinessChecks(IServiceCollection services)
    {
        var checks = services.AddHealthChecks();
        foreach (var name in Readiness)
        {
            checks.Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(
                name,
                provider => new ComponentHealthCheck(provider.GetServices<IHealthComponent>().Single(c => c.Name == name)),
                Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy,
                [ReadyTag]));
        }
    }
}
