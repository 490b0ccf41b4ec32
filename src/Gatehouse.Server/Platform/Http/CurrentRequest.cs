namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The request the current code runs for, set by <see cref="ApiPipeline"/>. It stands in for
/// <c>IHttpContextAccessor</c>: registering that makes the server build a new HttpContext for
/// every request instead of reusing one per connection (measured at about a tenth of a verify's
/// allocations). Like the accessor it holds the request through a box that is emptied when the
/// request ends, so work that outlives the request never sees the next request on the connection.
/// </summary>
public static class CurrentRequest
{
    private static readonly AsyncLocal<Box?> Current = new();

    public static HttpContext? HttpContext => Current.Value?.Context;

    /// <summary>Makes <paramref name="context"/> current for this async flow; dispose the box at the end of the request.</summary>
    internal static Box Enter(HttpContext context)
    {
        var box = new Box(context);
        Current.Value = box;
        return box;
    }

    internal sealed class Box(HttpContext context) : IDisposable
    {
        public HttpContext? Context { get; private set; } = context;

        public void Dispose() => Context = null;
    }
}

/// <summary>
/// Log scopes with the request id first on every line written for a request, read from
/// <see cref="CurrentRequest"/> when a line is written rather than pushed as a scope on every
/// request (a pushed scope cost two execution-context copies per request, logged or not).
/// </summary>
public sealed class RequestLogScopeProvider : IExternalScopeProvider
{
    private readonly LoggerExternalScopeProvider _scopes = new();

    public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
    {
        if (CurrentRequest.HttpContext is { } httpContext)
        {
            callback(new RequestLogScope(RequestIds.Get(httpContext)), state);
        }

        _scopes.ForEachScope(callback, state);
    }

    public IDisposable Push(object? state) => _scopes.Push(state);
}
