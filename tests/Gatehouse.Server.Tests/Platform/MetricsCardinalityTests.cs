using Gatehouse.Server.Platform.Observability;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>Clients choose the method and the path; neither may add series to /metrics without bound.</summary>
public sealed class MetricsCardinalityTests
{
    [Fact]
    public async Task Made_up_methods_are_counted_as_OTHER_and_add_no_series()
    {
        await using var server = await GatehouseServer.StartAsync();
        for (var i = 0; i < 200; i++)
        {
            var method = new HttpMethod("X" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant());
            var path = i % 2 == 0 ? "/api/v1/health" : $"/no/such/{Guid.NewGuid():N}";
            using var request = new HttpRequestMessage(method, path);
            using var response = await server.Anonymous.Http.SendAsync(request);
            ((int)response.StatusCode).ShouldBeGreaterThanOrEqualTo(400);
        }

        var text = await server.Anonymous.Http.GetStringAsync("/metrics");
        var series = text.Split('\n').Where(l => l.StartsWith("gatehouse_http_requests_total{", StringComparison.Ordinal)).ToList();

        series.Count.ShouldBeLessThanOrEqualTo(10, string.Join('\n', series));
        series.ShouldContain(l => l.Contains("method=\"OTHER\"", StringComparison.Ordinal));
        text.ShouldNotContain("method=\"X");
        // Unmatched paths share one constant route label; no raw path reaches the labels.
        text.ShouldNotContain("/no/such/");
        series.ShouldContain(l => l.Contains("route=\"unmatched\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Series_past_the_cap_fold_into_one_overflow_series_per_status()
    {
        using var metrics = new HttpMetrics([]);
        for (var i = 0; i < HttpMetrics.MaxSeries * 3; i++)
        {
            metrics.Record("GET", "/route/" + i, 200 + (i % 2), 0.001);
        }

        var series = metrics.ToPrometheusText().Split('\n').Where(l => l.StartsWith("gatehouse_http_requests_total{", StringComparison.Ordinal)).ToList();

        series.Count.ShouldBe(HttpMetrics.MaxSeries + 2);
        series.ShouldContain("gatehouse_http_requests_total{method=\"OTHER\",route=\"OTHER\",status=\"200\"} 1000");
        series.ShouldContain("gatehouse_http_requests_total{method=\"OTHER\",route=\"OTHER\",status=\"201\"} 1000");
    }
}
