using System.Diagnostics.Metrics;

namespace Gatehouse.Server.Platform.Observability;

/// <summary>Figures a feature publishes on the Gatehouse meter (and so at /metrics and over OTLP), declared once.</summary>
public interface IMetricsSource
{
    IReadOnlyList<MetricDeclaration> Metrics { get; }
}

public enum MetricKind
{
    /// <summary>Only grows (Prometheus: <c>…_total</c>).</summary>
    Counter,

    /// <summary>A value that goes up and down.</summary>
    Gauge,
}

/// <summary>One series of a metric: its value, with at most one label.</summary>
public readonly record struct MetricSeries(long Value, string? Label = null, string? LabelValue = null);

/// <summary>
/// A metric declared once: its meter name (<c>gatehouse.key_cache.lookups</c>), kind, description
/// and how to read its series. The exporters derive the Prometheus name (dots become underscores,
/// counters end in <c>_total</c>).
/// </summary>
public sealed record MetricDeclaration(string Name, MetricKind Kind, string Description, Func<IEnumerable<MetricSeries>> Observe)
{
    public void Publish(Meter meter)
    {
        IEnumerable<Measurement<long>> Measure() => Observe().Select(s => s.Label is null
            ? new Measurement<long>(s.Value)
            : new Measurement<long>(s.Value, new KeyValuePair<string, object?>(s.Label, s.LabelValue)));
        if (Kind == MetricKind.Counter)
        {
            meter.CreateObservableCounter(Name, Measure, description: Description);
        }
        else
        {
            meter.CreateObservableGauge(Name, Measure, description: Description);
        }
    }
}

/// <summary>
/// The server's own meter: every feature's declared figures, published once at start. Created from
/// the container's meter factory, so the telemetry pipeline of this host reads this host's figures
/// only (tests run several hosts in one process).
/// </summary>
public sealed class GatehouseMetrics
{
    public const string MeterName = "Gatehouse";

    public GatehouseMetrics(IMeterFactory meters, IEnumerable<IMetricsSource> sources)
    {
        Meter = meters.Create(MeterName);
        foreach (var metric in sources.SelectMany(source => source.Metrics))
        {
            metric.Publish(Meter);
        }
    }

    public Meter Meter { get; }
}
