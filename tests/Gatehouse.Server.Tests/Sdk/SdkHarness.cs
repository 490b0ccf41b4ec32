using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Client;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>Ways to point the SDK at a real server, and the few seams the resilience tests need.</summary>
internal static class SdkHarness
{
    public static GatehouseClient Client(GatehouseServer server, string? key, Action<GatehouseClientOptions>? configure = null, HttpMessageHandler? handler = null)
    {
        var options = new GatehouseClientOptions { BaseUrl = server.BaseAddress.ToString(), ApiKey = key, InitialRetryDelay = TimeSpan.FromMilliseconds(10) };
        configure?.Invoke(options);
        return handler is null ? new GatehouseClient(options) : new GatehouseClient(new HttpClient(handler), options);
    }

    /// <summary>A port on which nothing listens: connections are refused at once.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>
/// The SDK's clock in the resilience tests: a wait the client asks for is recorded, moves the server's
/// fake clock by exactly that much, and ends at once, so a Retry-After of a minute costs no real time.
/// </summary>
internal sealed class ServerClockWaits(FakeClock serverClock) : TimeProvider
{
    public ConcurrentQueue<TimeSpan> Waits { get; } = new();

    public override DateTimeOffset GetUtcNow() => serverClock.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            Waits.Enqueue(dueTime);
            serverClock.Advance(dueTime);
            dueTime = TimeSpan.Zero;
        }

        return System.CreateTimer(callback, state, dueTime, period);
    }
}

/// <summary>Records what each attempt sent, and can lose the answer of the first POST after the server handled it.</summary>
internal sealed class AttemptRecorder(bool loseFirstPostResponse = false) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _posts;

    public ConcurrentQueue<(HttpMethod Method, string? IdempotencyKey, int Status)> Attempts { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.Headers.TryGetValues("Idempotency-Key", out var values) ? values.Single() : null;
        var response = await base.SendAsync(request, cancellationToken);
        Attempts.Enqueue((request.Method, key, (int)response.StatusCode));
        if (loseFirstPostResponse && request.Method == HttpMethod.Post && Interlocked.Increment(ref _posts) == 1)
        {
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The connection closed before the response arrived (injected).");
        }

        return response;
    }
}

/// <summary>A socket that accepts connections and never answers: a server that hangs.</summary>
internal sealed class SilentServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _accepted = [];
    private readonly CancellationTokenSource _stop = new();

    public SilentServer()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Connections
    {
        get
        {
            lock (_accepted)
            {
                return _accepted.Count;
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_accepted)
                {
                    _accepted.Add(client);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_accepted)
        {
            _accepted.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }
}
