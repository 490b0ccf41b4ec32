using System.Diagnostics;
using System.Reflection;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Health;

/// <summary>Liveness of the whole server.</summary>
public sealed record HealthStatus(string Status);

/// <summary>Public health with the running version.</summary>
public sealed record ApiHealth(string Status, string Version, long UptimeSeconds);

/// <summary>The state of one part of the server.</summary>
public sealed record ComponentHealth(string Status, double? LatencyMs = null, IReadOnlyDictionary<string, object?>? Details = null)
{
    public const string Healthy = "healthy";
    public const string Unhealthy = "unhealthy";

    /// <summary>Working, with something an operator must look at (the server still answers 200).</summary>
    public const string Degraded = "degraded";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsHealthy => Status == Healthy;
}

/// <summary>The admin health report: every component with its status.</summary>
public sealed record AdminHealth(string Status, string Version, long UptimeSeconds, IReadOnlyDictionary<string, ComponentHealth> Components);

/// <summary>A part of the server whose health the admin report shows (database, keyring, jobs, cluster …).</summary>
public interface IHealthComponent
{
    string Name { get; }
    Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken);
}

public static class HealthEndpoints
{
    private static readonly long StartedAt = Stopwatch.GetTimestamp();

    public static string Version { get; } =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static long UptimeSeconds => (long)Stopwatch.GetElapsedTime(StartedAt).TotalSeconds;

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app, IEndpointRouteBuilder api)
    {
        app.MapGet("/health", async Task<Results<Ok<HealthStatus>, JsonHttpResult<HealthStatus>>> (DatabaseHealth database, CancellationToken cancellationToken) =>
            (await database.CheckAsync(cancellationToken)).IsHealthy
                ? TypedResults.Ok(new HealthStatus(ComponentHealth.Healthy))
                : TypedResults.Json(new HealthStatus(ComponentHealth.Unhealthy), statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithTags("Health").WithName("Health").WithSummary("Liveness: 200 healthy, 503 when the database is unreachable");

        app.MapGet("/metrics", (HttpMetrics metrics) => TypedResults.Text(metrics.ToPrometheusText(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithTags("Health").WithName("Metrics").WithSummary("Prometheus text exposition of request counts and durations");

        api.MapGet("/health", () => new ApiOk<ApiHealth>(new ApiHealth(ComponentHealth.Healthy, Version, UptimeSeconds)))
            .WithTags("Health").WithName("ApiHealth").WithSummary("Version and uptime");

        api.MapGet("/admin/health", async Task<Results<ApiOk<AdminHealth>, ApiError>> (IEnumerable<IHealthComponent> components, CancellationToken cancellationToken) =>
            {
                var report = new SortedDictionary<string, ComponentHealth>(StringComparer.Ordinal);
                foreach (var component in components)
                {
                    report[component.Name] = await component.CheckAsync(cancellationToken);
                }

                var healthy = report.Values.All(c => c.Status != ComponentHealth.Unhealthy);
                var status = !healthy ? ComponentHealth.Unhealthy : report.Values.All(c => c.IsHealthy) ? ComponentHealth.Healthy : ComponentHealth.Degraded;
                var body = new AdminHealth(status, Version, UptimeSeconds, report);
                return healthy
                    ? new ApiOk<AdminHealth>(body)
                    : new ApiError(ErrorCodes.ServiceUnavailable, "A component is unhealthy.", new Dictionary<string, object?> { ["health"] = body });
            })
            .RequireRoot().WithTags("Health").WithName("AdminHealth").WithSummary("Every component with status and latency; 503 when one is down");
        return app;
    }
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

/// <summary>This node as a member of the cluster; one node until scale-out lands.</summary>
public sealed class ClusterHealth(DatabaseTarget target) : IHealthComponent
{
    private static readonly string NodeId = $"{Environment.MachineName}:{Environment.ProcessId}";

    public string Name => "cluster";

    public Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ComponentHealth(ComponentHealth.Healthy, null, new Dictionary<string, object?>
        {
            ["nodeId"] = NodeId,
            ["mode"] = target.Provider == DatabaseProvider.Postgres ? "shared-database" : "single-node",
        }));
}

/// <summary>
/// The master key is loaded and the server secrets it protects open with it. Degraded while the
/// data-key re-encryption job on this node found records it cannot open (their ids, never contents).
/// </summary>
public sealed class KeyringHealth(Platform.Hosting.ServerKeys keys, Vault.DataKeyReencryption reencryption) : IHealthComponent
{
    public string Name => "keyring";

    public Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        var unreadable = reencryption.Unreadable;
        return Task.FromResult(new ComponentHealth(unreadable.Count == 0 ? ComponentHealth.Healthy : ComponentHealth.Degraded, null, new Dictionary<string, object?>
        {
            ["masterKeyFingerprint"] = keys.MasterKey.Fingerprint,
            ["unreadableRecords"] = unreadable.Count,
            ["unreadableSample"] = unreadable.Take(20).ToList(),
        }));
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
