using System.Globalization;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Reads series from the server's Prometheus text at /metrics.</summary>
public static class MetricsScrape
{
    /// <summary>
    /// The values of <paramref name="series"/>, read in one scrape. Each is a metric name with the
    /// labels that pick one series (<c>gatehouse_key_cache_lookups_total{result="hit"}</c>); labels
    /// the exporter adds (such as <c>otel_scope_name</c>) are not named.
    /// </summary>
    public static async Task<long[]> ReadAsync(GatehouseServer server, params string[] series)
    {
        var lines = (await server.Anonymous.Http.GetStringAsync("/metrics")).Split('\n').Where(l => l.Length > 0 && l[0] != '#').ToList();
        return [.. series.Select(wanted => long.Parse(lines.Single(line => Matches(line, wanted)).Split(' ')[^1], NumberStyles.Float, CultureInfo.InvariantCulture))];
    }

    /// <summary>Every line of the series named <paramref name="name"/> whose labels include each of <paramref name="labels"/> (<c>key="value"</c>).</summary>
    public static IEnumerable<string> Lines(string text, string name, params string[] labels) =>
        text.Split('\n').Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => HasLabel(line, label)));

    private static bool Matches(string line, string wanted)
    {
        var brace = wanted.IndexOf('{', StringComparison.Ordinal);
        if (brace < 0)
        {
            return line.StartsWith(wanted + " ", StringComparison.Ordinal) || line.StartsWith(wanted + "{", StringComparison.Ordinal);
        }

        var name = wanted[..brace];
        var labels = wanted[(brace + 1)..^1].Split(',', StringSplitOptions.RemoveEmptyEntries);
        return line.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => HasLabel(line, label));
    }

    private static bool HasLabel(string line, string label)
    {
        var labels = line[(line.IndexOf('{', StringComparison.Ordinal) + 1)..line.LastIndexOf('}')];
        return ("," + labels + ",").Contains("," + label + ",", StringComparison.Ordinal);
    }
}
