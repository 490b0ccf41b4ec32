using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Benchmarks;

/// <summary>
/// The load test's one-connection latency probe: sends <c>POST /api/v1/keys/verify</c> for the
/// keys of a file, one at a time on one keep-alive connection, and times each answer from the
/// first byte sent to the last byte received.
/// <para>
/// It exists because <c>wrk</c> cannot answer "what does one cache miss cost": <c>wrk</c> corrects
/// its histogram for coordinated omission, adding a sample for every interval a slow answer held
/// the connection, so at one connection its p99 measures how long the machine stood still in total
/// rather than how long each request took. Here every request is one sample. The probe builds all
/// its requests before it starts and allocates nothing while it measures, so it causes no GC pause
/// of its own.
/// </para>
/// </summary>
public static class LatencyProbe
{
    /// <summary>
    /// <c>latency-probe --url http://127.0.0.1:5180 --keys FILE [--auth KEY] [--seconds 5] [--repeat]</c>:
    /// without <c>--repeat</c> each key is sent once and the run ends when the keys or the seconds
    /// run out; with it the keys are sent in turn until the seconds are up. Prints one line:
    /// <c>count p50 p90 p99 p99.9 max non2xx</c>, latencies in milliseconds.
    /// </summary>
    public static void Run(string[] args)
    {
        var options = Options.Parse(args);
        var keys = File.ReadLines(options.KeysFile).Where(line => line.Length > 0).ToArray();
        if (keys.Length == 0)
        {
            throw new InvalidOperationException($"{options.KeysFile} holds no keys");
        }

        var requests = keys.Select(key => BuildRequest(options.Url, key, options.AuthKey)).ToArray();
        var capacity = options.Repeat ? 1_000_000 : requests.Length;
        var latencies = new long[capacity];
        var buffer = new byte[64 * 1024];

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(options.Url.Host, options.Url.Port);
        WarmUp(socket, options.Url, buffer);
        var deadline = Stopwatch.GetTimestamp() + (long)(options.Seconds * Stopwatch.Frequency);
        var count = 0;
        var failures = 0;
        while (count < capacity && Stopwatch.GetTimestamp() < deadline)
        {
            var request = requests[count % requests.Length];
            var started = Stopwatch.GetTimestamp();
            socket.Send(request);
            var status = ReadResponse(socket, buffer);
            latencies[count++] = Stopwatch.GetTimestamp() - started;
            if (status is < 200 or > 299)
            {
                failures++;
            }
        }

        Array.Sort(latencies, 0, count);
        Console.WriteLine(string.Join(' ',
            count.ToString(CultureInfo.InvariantCulture),
            Milliseconds(latencies, count, 0.50),
            Milliseconds(latencies, count, 0.90),
            Milliseconds(latencies, count, 0.99),
            Milliseconds(latencies, count, 0.999),
            Milliseconds(latencies, count, 1.0),
            failures.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Compiles the probe's own send and receive paths before the first timed request, with
    /// requests that no route answers (404) so that no key is spent on it.
    /// </summary>
    private static void WarmUp(Socket socket, Uri url, byte[] buffer)
    {
        var request = Encoding.ASCII.GetBytes($"GET /latency-probe-warm-up HTTP/1.1\r\nHost: {url.Authority}\r\n\r\n");
        for (var i = 0; i < 200; i++)
        {
            socket.Send(request);
            ReadResponse(socket, buffer);
        }
    }

    private static byte[] BuildRequest(Uri url, string key, string? authKey)
    {
        var body = $$"""{"key":"{{key}}"}""";
        var authorization = authKey is null ? "" : $"Authorization: Bearer {authKey}\r\n";
        var head = $"POST /api/v1/keys/verify HTTP/1.1\r\nHost: {url.Authority}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n";
        return Encoding.UTF8.GetBytes(head + body);
    }

    /// <summary>Reads one whole response (Content-Length or chunked) and returns its status code.</summary>
    private static int ReadResponse(Socket socket, byte[] buffer)
    {
        var received = 0;
        var headerEnd = -1;
        while (true)
        {
            var read = socket.Receive(buffer.AsSpan(received));
            if (read == 0)
            {
                throw new IOException("the server closed the connection");
            }

            received += read;
            var span = buffer.AsSpan(0, received);
            if (headerEnd < 0)
            {
                headerEnd = span.IndexOf("\r\n\r\n"u8);
                if (headerEnd < 0)
                {
                    continue;
                }
            }

            var head = span[..headerEnd];
            var bodyStart = headerEnd + 4;
            var done = TryContentLength(head, out var length)
                ? received >= bodyStart + length
                : span[bodyStart..].EndsWith("0\r\n\r\n"u8);
            if (done)
            {
                // "HTTP/1.1 200 OK": the status is the three digits after the first space.
                var space = head.IndexOf((byte)' ');
                return (head[space + 1] - '0') * 100 + (head[space + 2] - '0') * 10 + (head[space + 3] - '0');
            }
        }
    }

    private static bool TryContentLength(ReadOnlySpan<byte> head, out int length)
    {
        var name = "\r\ncontent-length:"u8;
        for (var i = 0; i + name.Length <= head.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(head.Slice(i, name.Length), name))
            {
                var value = head[(i + name.Length)..];
                var end = value.IndexOf("\r\n"u8);
                return int.TryParse(Encoding.ASCII.GetString(end < 0 ? value : value[..end]).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out length);
            }
        }

        length = 0;
        return false;
    }

    private static string Milliseconds(long[] sorted, int count, double quantile)
    {
        if (count == 0)
        {
            return "-";
        }

        // The nearest-rank quantile: the smallest sample with at least that share of samples at or below it.
        var rank = Math.Clamp((int)Math.Ceiling(quantile * count) - 1, 0, count - 1);
        return (sorted[rank] * 1000.0 / Stopwatch.Frequency).ToString("0.000", CultureInfo.InvariantCulture);
    }

    private sealed record Options(Uri Url, string KeysFile, string? AuthKey, double Seconds, bool Repeat)
    {
        public static Options Parse(string[] args)
        {
            string? url = null, keys = null, auth = null;
            var seconds = 5.0;
            var repeat = false;
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--url": url = args[++i]; break;
                    case "--keys": keys = args[++i]; break;
                    case "--auth": auth = args[++i]; break;
                    case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--repeat": repeat = true; break;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }

            return new Options(
                new Uri(url ?? throw new ArgumentException("--url is required")),
                keys ?? throw new ArgumentException("--keys is required"),
                string.IsNullOrEmpty(auth) ? null : auth,
                seconds,
                repeat);
        }
    }
}
