namespace Gatehouse.Server.Platform.Http;

/// <summary>Marks a route that <see cref="ExactRouteShortcut"/> dispatches without routing.</summary>
public sealed class ExactRouteShortcutMetadata
{
    public static readonly ExactRouteShortcutMetadata Instance = new();

    private ExactRouteShortcutMetadata()
    {
    }
}

/// <summary>
/// Hands a request for a route marked with <see cref="ExactRouteShortcutMetadata"/> — one method,
/// a path without parameters, spelt exactly — straight to its endpoint, as routing would: the
/// endpoint is set on the request (its metadata, route label and timeout settings apply as usual)
/// and its handler runs. Routing's matching and the middleware between it and the handler cost a
/// verify, which sits in front of every request of our users, a measurable part of its time
/// (docs/performance.md). Anything else — another method, spelling or route — goes through routing.
/// </summary>
public sealed class ExactRouteShortcut(RequestDelegate next, EndpointDataSource endpoints)
{
    private Shortcut[]? _shortcuts;

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        // A handful at most, so a scan: nothing to hash or allocate per request.
        foreach (var shortcut in _shortcuts ??= Build(endpoints))
        {
            if (string.Equals(request.Path.Value, shortcut.Path, StringComparison.Ordinal) && HttpMethods.Equals(request.Method, shortcut.Method))
            {
                context.SetEndpoint(shortcut.Endpoint);
                return shortcut.Handler(context);
            }
        }

        return next(context);
    }

    private static Shortcut[] Build(EndpointDataSource endpoints)
    {
        var shortcuts = new List<Shortcut>();
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<ExactRouteShortcutMetadata>() is null)
            {
                continue;
            }

            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            if (methods is not { Count: 1 } || endpoint.RoutePattern.Parameters.Count > 0 || endpoint.RoutePattern.RawText is not { } path
                || !path.StartsWith('/') || endpoint.RequestDelegate is not { } handler)
            {
                throw new InvalidOperationException($"{endpoint.DisplayName}: a shortcut needs one method, a path without parameters and a handler.");
            }

            shortcuts.Add(new Shortcut(methods[0], path, endpoint, handler));
        }

        return [.. shortcuts];
    }

    private sealed record Shortcut(string Method, string Path, Endpoint Endpoint, RequestDelegate Handler);
}

public static class ExactRouteShortcutExtensions
{
    /// <summary>Lets <see cref="ExactRouteShortcut"/> dispatch this route without routing.</summary>
    public static TBuilder WithExactRouteShortcut<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ExactRouteShortcutMetadata.Instance);
}
