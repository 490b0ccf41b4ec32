using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>A slow or oversized client cannot hold the server: it is cut off while others are served.</summary>
public sealed class RequestLimitTests
{
    [Fact]
    public async Task A_client_dripping_its_headers_is_cut_off_while_others_are_answered()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:RequestHeadersTimeoutSeconds"] = "2" },
        });
        using var slow = new TcpClient();
        await slow.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n"));

        var started = DateTime.UtcNow;
        var closed = false;
        var buffer = new byte[4096];
        // The drip itself is the test (a header line every 500 ms of real time), not a wait on the server.
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(15))
        {
            (await server.Anonymous.GetAsync("/api/v1/health")).StatusCode.ShouldBe(200);
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes("X-Drip: 1\r\n"));
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                var read = await stream.ReadAsync(buffer, wait.Token);
                if (read == 0 || Encoding.ASCII.GetString(buffer, 0, read).StartsWith("HTTP/1.1 408", StringComparison.Ordinal))
                {
                    closed = true;
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                // Nothing yet: keep dripping.
            }
            catch (IOException)
            {
                closed = true;
                break;
            }
        }

        closed.ShouldBeTrue("the dripping client was never cut off");
    }

    [Fact]
    public async Task Headers_over_the_limit_are_rejected_without_a_server_error()
    {
        await using var server = await GatehouseServer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var huge = new string('h', 40 * 1024);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Huge: {huge}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var reply = await reader.ReadToEndAsync();

        reply.ShouldStartWith("HTTP/1.1 431");
        (await server.Anonymous.GetAsync("/api/v1/health")).StatusCode.ShouldBe(200);
    }
}
