using System.Text.Json.Serialization;

namespace Gatehouse.Contracts.Health;

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

    [JsonIgnore]
    public bool IsHealthy => Status == Healthy;
}

/// <summary>The admin health report: every component with its status, and the nodes sharing the database.</summary>
public sealed record AdminHealth(string Status, string Version, long UptimeSeconds, IReadOnlyDictionary<string, ComponentHealth> Components, IReadOnlyList<ClusterNodeView> Nodes);

/// <summary>
/// A server node that shares the database, from its heartbeat row. <c>alive</c>: its last heartbeat
/// is within the node timeout (<c>Gatehouse:Cluster:NodeTimeoutSeconds</c>). Nodes silent for over an
/// hour are no longer listed.
/// </summary>
public sealed record ClusterNodeView(string Id, string Version, DateTime StartedAt, DateTime LastSeenAt, bool Alive);
