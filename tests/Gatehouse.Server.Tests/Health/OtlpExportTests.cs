using System.Net;
using System.Text;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Health;

/// <summary>With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, request spans reach the collector over OTLP (HTTP/protobuf).</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Request_spans_are_exported_to_the_configured_OTLP_endpoint()
    {
        var port = ServerProcess.FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new StringBuilder();
        var receiving = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                var context = await collector.GetContextAsync();
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (received)
                {
                    // Span and resource names are plain UTF-8 inside the protobuf message.
                    received.Append(context.Request.Url!.AbsolutePath).Append(' ').Append(Encoding.UTF8.GetString(body.ToArray())).Append('\n');
                }

                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        await using (var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            },
        }))
        {
            var orgId = await server.CreateOrgAsync();
            (await server.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
            var (_, key) = await server.CreateKeyAsync(orgId);
            (await server.Root.VerifyAsync(new { key })).StatusCode.ShouldBe(200);

            await Eventually.TrueAsync(() =>
            {
                lock (received)
                {
                    var text = received.ToString();
                    // The request's span, a database command's child span, and the key-cache miss of the first verify.
                    return text.Contains("/v1/traces", StringComparison.Ordinal) && text.Contains("GET /api/v1/orgs/{orgId}", StringComparison.Ordinal)
                        && text.Contains("db.system", StringComparison.Ordinal) && text.Contains("key_cache.miss", StringComparison.Ordinal);
                }
            }, "the spans at the collector");
        }

        lock (received)
        {
            received.ToString().ShouldContain("gatehouse");
        }

        collector.Stop();
        await Should.ThrowAsync<Exception>(receiving);
    }
}
