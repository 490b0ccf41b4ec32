namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The OpenAPI document is the same for every request — the routes are fixed when the server starts
/// and the document names no server — yet generating it costs seconds of CPU. It is generated once,
/// by the first request, and its bytes are served from then on, so anonymous callers cannot make the
/// server burn CPU by asking for it. Requests with a query string go through uncached (and are refused).
/// </summary>
public sealed class OpenApiDocumentCache(RequestDelegate next)
{
    private readonly SemaphoreSlim _generating = new(1, 1);
    private CachedDocument? _document;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || !request.Path.Equals(OpenApiSetup.DocumentPath, StringComparison.Ordinal) || request.QueryString.HasValue)
        {
            await next(context);
            return;
        }

        var document = Volatile.Read(ref _document);
        if (document is null)
        {
            // One generation at a time: the requests that arrive meanwhile wait for it and share it.
            await _generating.WaitAsync(context.RequestAborted);
            try
            {
                document = Volatile.Read(ref _document);
                if (document is null)
                {
                    await GenerateAsync(context);
                    return;
                }
            }
            finally
            {
                _generating.Release();
            }
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = document.ContentType;
        context.Response.ContentLength = document.Body.Length;
        if (HttpMethods.IsGet(request.Method))
        {
            await context.Response.Body.WriteAsync(document.Body, context.RequestAborted);
        }
    }

    /// <summary>Runs the generator into a buffer, keeps its answer when it is a 200, and sends it on.</summary>
    private async Task GenerateAsync(HttpContext context)
    {
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }

        var body = buffer.ToArray();
        if (context.Response.StatusCode == StatusCodes.Status200OK && HttpMethods.IsGet(context.Request.Method))
        {
            Volatile.Write(ref _document, new CachedDocument(body, context.Response.ContentType ?? "application/json; charset=utf-8"));
        }

        context.Response.ContentLength = body.Length;
        await original.WriteAsync(body, context.RequestAborted);
    }

    private sealed record CachedDocument(byte[] Body, string ContentType);
}
