namespace Gatehouse.Server.Platform.Cluster;

/// <summary>This process among the nodes sharing one database.</summary>
public static class ClusterNode
{
    /// <summary>
    /// Machine name and process id: unique among live nodes (two processes on one machine differ
    /// by pid), readable in logs, job runs and the health report, and stable for the life of the
    /// process, which is exactly as long as its leases and in-flight claims are worth anything.
    /// </summary>
    public static readonly string Id = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>The host part alone, for the node table.</summary>
    public static readonly string Host = Environment.MachineName;
}
