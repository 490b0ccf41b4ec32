namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Every response carries X-Request-Id. A client's id is kept when it is 1–128 printable ASCII
/// characters (so it cannot inject into logs or headers); otherwise a fresh <c>req_…</c> is made.
/// </summary>
public static class RequestIds
{
    public const string Header = "X-Request-Id";
    private const string ItemKey = "gatehouse.requestId";

    public static string Get(HttpContext httpContext) =>
        httpContext.Items.TryGetValue(ItemKey, out var id) && id is string s ? s : Assign(httpContext);

    public static string Assign(HttpContext httpContext)
    {
        var incoming = httpContext.Request.Headers[Header].ToString();
        var id = IsAcceptable(incoming) ? incoming : Ids.NewUnguarded("req");
        httpContext.Items[ItemKey] = id;
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
