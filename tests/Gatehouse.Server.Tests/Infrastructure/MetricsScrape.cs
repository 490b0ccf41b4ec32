namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Reads series from the server's Prometheus text at /metrics.</summary>
public static class MetricsScrape
{
    /// <summary>The values of <paramref name="series"/> (each an exact series name with its labels), read in one scrape.</summary>
    public static async Task<long[]> ReadAsync(GatehouseServer server, params string[] series)
    {
        var lines = (await server.Anonymous.Http.GetStringAsync("/metrics")).Split('\n');
        return [.. series.Select(name => long.Parse(lines.Single(line => line.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))];
    }
}
