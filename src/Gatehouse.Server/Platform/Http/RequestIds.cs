namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Every response carries X-Request-Id. A client's id is kept when it is 1–128 printable ASCII
/// characters (so it cannot inject into logs or headers); otherwise a fresh <c>req_…</c> is made.
/// </summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";
    /// <summary>The id <see cref="Assign"/> gave the request (ApiPipeline, the outermost middleware, assigns it first).</summary>
    public static string Get(HttpContext httpContext) => httpContext.TraceIdentifier;

    /// <summary>
    /// Kept as the request's trace identifier: the server holds that per request without an
    /// allocation (an Items dictionary cost one per request), and its own logs then name the same id.
    /// </summary>
    public static string Assign(HttpContext httpContext, TimeProvider clock)
    {
        var incoming = httpContext.Request.Headers[Header].ToString();
        var id = IsAcceptable(incoming) ? incoming : Ids.NewUnguarded("req", clock.GetUtcNow());
        httpContext.TraceIdentifier = id;
        return id;
    }

    public static bool IsAcceptable(string value)
    {
        if (value.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < (char)0x21 or > (char)0x7e)
            {
                return false;
            }
        }

        return true;
    }
}
