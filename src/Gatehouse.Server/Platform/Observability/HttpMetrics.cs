using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Gatehouse.Server.Platform.Observability;

/// <summary>Figures a feature publishes beside the request metrics, declared once and shown both on the meter (OTLP) and in the text at /metrics.</summary>
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
/// and how to read its series. The Prometheus name is derived (dots become underscores, counters
/// end in <c>_total</c>), so the two expositions cannot drift apart.
/// </summary>
public sealed record MetricDeclaration(string Name, MetricKind Kind, string Description, Func<IEnumerable<MetricSeries>> Observe)
{
    public string PrometheusName => Name.Replace('.', '_') + (Kind == MetricKind.Counter ? "_total" : "");

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

    public void AppendPrometheusText(StringBuilder text)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {PrometheusName} {Description}.\n");
        text.Append(CultureInfo.InvariantCulture, $"# TYPE {PrometheusName} {(Kind == MetricKind.Counter ? "counter" : "gauge")}\n");
        foreach (var series in Observe())
        {
            text.Append(PrometheusName);
            if (series.Label is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"{{{series.Label}=\"{series.LabelValue}\"}}");
            }

            text.Append(CultureInfo.InvariantCulture, $" {series.Value}\n");
        }
    }
}

/// <summary>
/// Request counts and durations by route template and status, published through
/// <see cref="System.Diagnostics.Metrics"/> (for OTLP) and kept here for the Prometheus text at /metrics.
/// </summary>
public sealed class HttpMetrics : IDisposable
{
    public const string MeterName = "Gatehouse";

    // From 100 µs: a cached verify takes tens of microseconds and a cache miss a few hundred, so
    // coarser buckets would put every verify in the first one.
    private static readonly double[] Bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<(string Method, string Route, int Status), Series> _series = new();
    private readonly IMetricsSource[] _sources;

    public HttpMetrics(IEnumerable<IMetricsSource> sources)
    {
        _requests = _meter.CreateCounter<long>("gatehouse.http.requests", description: "HTTP requests handled");
        _duration = _meter.CreateHistogram<double>("gatehouse.http.request.duration", unit: "s", description: "HTTP request duration");
        _sources = [.. sources];
        foreach (var metric in _sources.SelectMany(source => source.Metrics))
        {
            metric.Publish(_meter);
        }
    }

    /// <summary>
    /// Most series kept: methods are the standard nine (or <see cref="Other"/>) and routes the
    /// templates of this server, so ordinary traffic stays far below; past it every new
    /// combination counts under <c>method="OTHER",route="OTHER"</c> with its status.
    /// </summary>
    public const int MaxSeries = 1000;

    /// <summary>The label of a method outside the standard set, and the route of the overflow series.</summary>
    public const string Other = "OTHER";

    /// <summary>The route label of a request that matched no route: one constant, never the raw path.</summary>
    public const string Unmatched = "unmatched";

    private int _seriesCount;

    public void Record(string method, string route, int status, double seconds)
    {
        // The method is chosen by the client: any other verb would be a new series per request.
        var key = (Method: StandardMethod(method), Route: route, Status: status is >= 100 and <= 599 ? status : 0);
        if (!_series.TryGetValue(key, out var series))
        {
            series = AddSeries(key);
        }

        series.Observe(seconds);

        // The tags are built once per series: a TagList per request boxed the status and cost an
        // allocation on every request, whether or not anything listened.
        if (_requests.Enabled)
        {
            _requests.Add(1, series.Tags);
        }

        if (_duration.Enabled)
        {
            _duration.Record(seconds, series.Tags);
        }
    }

    /// <summary>The method's own constant when it is one of the standard nine, otherwise <see cref="Other"/>.</summary>
    public static string StandardMethod(string method) => method switch
    {
        "GET" => HttpMethods.Get,
        "HEAD" => HttpMethods.Head,
        "POST" => HttpMethods.Post,
        "PUT" => HttpMethods.Put,
        "PATCH" => HttpMethods.Patch,
        "DELETE" => HttpMethods.Delete,
        "OPTIONS" => HttpMethods.Options,
        "TRACE" => HttpMethods.Trace,
        "CONNECT" => HttpMethods.Connect,
        _ => Other,
    };

    private Series AddSeries((string Method, string Route, int Status) key)
    {
        // Counted, not read from the dictionary (whose Count takes every lock); a race may let a few
        // series past the cap, never an unbounded number.
        if (Volatile.Read(ref _seriesCount) >= MaxSeries)
        {
            key = (Other, Other, key.Status);
            if (_series.TryGetValue(key, out var overflow))
            {
                return overflow;
            }
        }

        var created = new Series(key.Method, key.Route, key.Status);
        var series = _series.GetOrAdd(key, created);
        if (ReferenceEquals(series, created))
        {
            Interlocked.Increment(ref _seriesCount);
        }

        return series;
    }

    public string ToPrometheusText()
    {
        var text = new StringBuilder();
        text.Append("# HELP gatehouse_http_requests_total HTTP requests handled, by method, route template and status.\n");
        text.Append("# TYPE gatehouse_http_requests_total counter\n");
        var ordered = _series.OrderBy(s => s.Key.Route, StringComparer.Ordinal).ThenBy(s => s.Key.Method, StringComparer.Ordinal).ThenBy(s => s.Key.Status).ToList();
        foreach (var ((method, route, status), series) in ordered)
        {
            text.Append(CultureInfo.InvariantCulture, $"gatehouse_http_requests_total{{{Labels(method, route, status)}}} {series.Count}\n");
        }

        text.Append("# HELP gatehouse_http_request_duration_seconds HTTP request duration in seconds.\n");
        text.Append("# TYPE gatehouse_http_request_duration_seconds histogram\n");
        foreach (var ((method, route, status), series) in ordered)
        {
            var labels = Labels(method, route, status);
            var snapshot = series.Snapshot();
            long cumulative = 0;
            for (var i = 0; i < Bounds.Length; i++)
            {
                cumulative += snapshot.Buckets[i];
                text.Append(CultureInfo.InvariantCulture, $"gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"{Bounds[i]}\"}} {cumulative}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"gatehouse_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {snapshot.Count}\n");
            text.Append(CultureInfo.InvariantCulture, $"gatehouse_http_request_duration_seconds_sum{{{labels}}} {snapshot.Sum}\n");
            text.Append(CultureInfo.InvariantCulture, $"gatehouse_http_request_duration_seconds_count{{{labels}}} {snapshot.Count}\n");
        }

        foreach (var metric in _sources.SelectMany(source => source.Metrics))
        {
            metric.AppendPrometheusText(text);
        }

        return text.ToString();
    }

    public void Dispose() => _meter.Dispose();

    private static string Labels(string method, string route, int status) =>
        $"method=\"{Escape(method)}\",route=\"{Escape(route)}\",status=\"{status}\"";

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Series(string method, string route, int status)
    {
        public KeyValuePair<string, object?>[] Tags { get; } = [new("method", method), new("route", route), new("status", status)];

        private readonly long[] _buckets = new long[Bounds.Length];
        private long _count;
        private double _sum;
        private readonly Lock _gate = new();

        public long Count => Interlocked.Read(ref _count);

        public void Observe(double seconds)
        {
            lock (_gate)
            {
                _count++;
                _sum += seconds;
                for (var i = 0; i < Bounds.Length; i++)
                {
                    if (seconds <= Bounds[i])
                    {
                        _buckets[i]++;
                        break;
                    }
                }
            }
        }

        public (long[] Buckets, long Count, double Sum) Snapshot()
        {
            lock (_gate)
            {
                return ((long[])_buckets.Clone(), _count, _sum);
            }
        }
    }
}

/// <summary>Times every request and records it under its route template (never the raw path, which holds ids).</summary>
public sealed class HttpMetricsMiddleware(RequestDelegate next, HttpMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? HttpMetrics.Unmatched;
            metrics.Record(context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
