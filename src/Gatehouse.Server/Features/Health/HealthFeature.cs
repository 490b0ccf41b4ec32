using System.Diagnostics;
using System.Reflection;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Health;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Observability;
using Microsoft.AspNetCore.Http.HttpResults;
using HealthCheckService = Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService;

namespace Gatehouse.Server.Features.Health;

public sealed class HealthFeature : Feature
{
    private static readonly long StartedAt = Stopwatch.GetTimestamp();

    public static string Version { get; } =
        typeof(HealthFeature).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static long UptimeSeconds => (long)Stopwatch.GetElapsedTime(StartedAt).TotalSeconds;

    public override string Name => "Health";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Health", "Liveness, version, metrics and the admin health report.")];

    public override void AddServices(FeatureServices services)
    {
        services.Services.AddSingleton<DatabaseHealth>();
        services.Services.AddSingleton<IHealthComponent>(sp => sp.GetRequiredService<DatabaseHealth>());
        services.Services.AddSingleton<ClusterHealth>();
        services.Services.AddSingleton<IHealthComponent>(sp => sp.GetRequiredService<ClusterHealth>());
        services.HealthCheck<JobsHealth>();
        ComponentHealthCheck.AddReadinessChecks(services.Services);
    }

    private static async Task<Results<Ok<HealthStatus>, JsonHttpResult<HealthStatus>>> ReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(ComponentHealthCheck.ReadyTag), cancellationToken);
        return report.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy
            ? TypedResults.Json(new HealthStatus(ComponentHealth.Unhealthy), statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Ok(new HealthStatus(ComponentHealth.Healthy));
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var (app, api) = (routes.Root, routes.Api);
        app.MapGet("/health/live", () => TypedResults.Ok(new HealthStatus(ComponentHealth.Healthy)))
            .WithTags("Health").WithName("HealthLive").WithSummary("Liveness: 200 while the process answers; touches no database");

        app.MapGet("/health/ready", ReadyAsync)
            .WithTags("Health").WithName("HealthReady").WithSummary("Readiness: 200 when the database, keyring and jobs work, 503 otherwise");

        app.MapGet("/health", ReadyAsync)
            .WithTags("Health").WithName("Health").WithSummary("Readiness under its original path (same as /health/ready)");

        app.MapGatehouseMetrics();

        api.MapGet("/health", () => new ApiOk<ApiHealth>(new ApiHealth(ComponentHealth.Healthy, Version, UptimeSeconds)))
            .WithTags("Health").WithName("ApiHealth").WithSummary("Version and uptime");

        api.MapGet("/admin/health", async Task<Results<ApiOk<AdminHealth>, ApiError>> (IEnumerable<IHealthComponent> components, ClusterHealth cluster, CancellationToken cancellationToken) =>
            {
                var report = new SortedDictionary<string, ComponentHealth>(StringComparer.Ordinal);
                foreach (var component in components)
                {
                    report[component.Name] = await component.CheckAsync(cancellationToken);
                }

                var healthy = report.Values.All(c => c.Status != ComponentHealth.Unhealthy);
                var status = !healthy ? ComponentHealth.Unhealthy : report.Values.All(c => c.IsHealthy) ? ComponentHealth.Healthy : ComponentHealth.Degraded;
                var body = new AdminHealth(status, Version, UptimeSeconds, report, await cluster.NodesAsync(cancellationToken));
                return healthy
                    ? new ApiOk<AdminHealth>(body)
                    : new ApiError(ErrorCodes.ServiceUnavailable, "A component is unhealthy.", new Dictionary<string, object?> { ["health"] = body });
            })
            .RequireRoot().WithTags("Health").WithName("AdminHealth").WithSummary("Every component with status and latency; 503 when one is down");
    }
}
