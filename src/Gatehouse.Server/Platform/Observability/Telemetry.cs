using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Server.Platform.Observability;

/// <summary>
/// Metrics and traces through OpenTelemetry: the Gatehouse meter, ASP.NET Core's request metrics
/// (route label = the route template, as in the OpenAPI document), HttpClient, runtime and process.
/// Metrics are always scraped at /metrics; with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set they and the
/// traces are also pushed over OTLP. Without it no trace is recorded at all, so a request pays for
/// no activity.
/// </summary>
public static class Telemetry
{
    public const string ActivitySourceName = "Gatehouse";
    public const string ScrapePath = "/metrics";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Spans of the server's own work (webhook delivery, key-cache misses); free while no tracer listens.</summary>
    public static readonly ActivitySource Source = new(ActivitySourceName);

    // From 100 µs: a cached verify takes tens of microseconds and a cache miss a few hundred, so the
    // default buckets (from 5 ms) would put every verify in the first one.
    private static readonly double[] DurationBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static bool OtlpConfigured(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);

    public static void AddGatehouseTelemetry(this IServiceCollection services, IConfiguration configuration, string version)
    {
        var otlp = OtlpConfigured(configuration);
        services.AddSingleton<GatehouseMetrics>();
        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("gatehouse", serviceVersion: version));
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(GatehouseMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()
                // Scraped fresh each time: a cached answer would show figures up to the cache's age old.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
            ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
            {
                var ownMeters = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => SelectStream(instrument, ownMeters));
            });
            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });

        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(ActivitySourceName)
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context =>
                    !context.Request.Path.StartsWithSegments(ScrapePath, StringComparison.Ordinal) &&
                    !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation()
                .AddEntityFrameworkCoreInstrumentation()
                .AddOtlpExporter());
        }
    }

    /// <summary>
    /// Meters created by another host's factory carry the same names (tests run several hosts in one
    /// process): they are dropped, so /metrics shows this host's figures only.
    /// </summary>
    private static MetricStreamConfiguration? SelectStream(Instrument instrument, IMeterFactory ownMeters)
    {
        if (instrument.Meter.Scope is IMeterFactory factory && !ReferenceEquals(factory, ownMeters))
        {
            return MetricStreamConfiguration.Drop;
        }

        return instrument.Name == "http.server.request.duration"
            ? new ExplicitBucketHistogramConfiguration { Boundaries = DurationBounds }
            : null;
    }

    /// <summary>
    /// The route label of request metrics is the route's template; a group's root route ends in a
    /// slash (<c>/api/v1/orgs/</c>) that the OpenAPI document drops, so such routes carry the
    /// document's spelling instead. Endpoint metadata, set once: no cost per request.
    /// </summary>
    public static void LabelRoutesAsInOpenApi(this IEndpointConventionBuilder routes) => routes.Add(endpoint =>
    {
        if (endpoint is RouteEndpointBuilder { RoutePattern.RawText: { Length: > 1 } raw } && raw.EndsWith('/'))
        {
            endpoint.Metadata.Add(new OpenApiRouteLabel(raw.TrimEnd('/')));
        }
    });

    private sealed record OpenApiRouteLabel(string Route) : Microsoft.AspNetCore.Http.Metadata.IRouteDiagnosticsMetadata;

    public static void MapGatehouseMetrics(this IEndpointRouteBuilder app) => app.MapPrometheusScrapingEndpoint(ScrapePath);
}
