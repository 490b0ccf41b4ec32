namespace Gatehouse.Server.Tests.Platform;

/// <summary>Clients choose the method and the path; neither may add series to /metrics without bound.</summary>
public sealed class MetricsCardinalityTests
{
    [Fact]
    public async Task Made_up_methods_and_unknown_paths_add_no_series()
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
        var series = MetricsScrape.Lines(text, "http_server_request_duration_seconds_count").ToList();

        series.Count.ShouldBeLessThanOrEqualTo(10, string.Join('\n', series));
        series.ShouldContain(l => l.Contains("http_request_method=\"_OTHER\"", StringComparison.Ordinal));
        text.ShouldNotContain("method=\"X");
        // Unmatched paths carry no route label at all; no raw path reaches the labels.
        text.ShouldNotContain("/no/such/");
        series.ShouldContain(l => l.Contains("http_request_method=\"_OTHER\"", StringComparison.Ordinal) && !l.Contains("http_route=", StringComparison.Ordinal));
    }
}
