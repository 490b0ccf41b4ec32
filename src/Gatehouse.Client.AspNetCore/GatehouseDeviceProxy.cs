using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Client.AspNetCore;

/// <summary>
/// The first-party ("same-site") integration of device verification: the app serves Gatehouse's hosted
/// page, agent script and browser calls under a path of its own origin, so the agent's key lives in the
/// app's origin and no third-party request leaves the page. Only those routes are forwarded; the
/// proxy is never a way into the rest of the API.
/// </summary>
public static class GatehouseDeviceProxy
{
    /// <summary>The name of the <see cref="HttpClient"/> the proxy forwards with (add handlers to it if you need).</summary>
    public const string HttpClientName = "Gatehouse.DeviceProxy";

    /// <summary>The agent's requests are tiny; the server refuses more than this as well.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>The agent's calls: a WebCrypto key's, and a WebAuthn credential's (the app's <c>webauthn</c> setting).</summary>
    private static readonly string[] BrowserCalls =
        ["challenge", "register", "prove", "webauthn/register-options", "webauthn/register", "webauthn/assert-options", "webauthn/assert"];

    /// <summary>The answer headers the page and the agent depend on (the content security policy above all).</summary>
    private static readonly string[] ForwardedResponseHeaders =
    [
        "Content-Security-Policy", "Referrer-Policy", "Cross-Origin-Resource-Policy", "Cache-Control", "Retry-After",
        "Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary",
    ];

    /// <summary>Registers the proxy's <see cref="HttpClient"/>.</summary>
    public static IServiceCollection AddGatehouseDeviceProxy(this IServiceCollection services)
    {
        services.AddHttpClient(HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(10));
        return services;
    }

    /// <summary>
    /// Maps <c>{prefix}/device/auth</c>, <c>{prefix}/device/agent.js</c> and the agent's POSTs to the
    /// same paths on <paramref name="gatehouseBaseUrl"/>. Send users to
    /// <c>{prefix}/device/auth?request={requestId}</c> instead of the URL Gatehouse returns, and list the
    /// app's own origin in the device app's <c>allowedOrigins</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapGatehouseDeviceProxy(this IEndpointRouteBuilder endpoints, string prefix, Uri gatehouseBaseUrl)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(gatehouseBaseUrl);
        var group = endpoints.MapGroup(prefix.TrimEnd('/') + "/device");
        var origin = new Uri(gatehouseBaseUrl.GetLeftPart(UriPartial.Authority));
        group.MapGet("/auth", (HttpContext context, IHttpClientFactory clients) => ForwardAsync(context, clients, new Uri(origin, "/device/auth" + context.Request.QueryString)));
        group.MapGet("/agent.js", (HttpContext context, IHttpClientFactory clients) => ForwardAsync(context, clients, new Uri(origin, "/device/agent.js")));
        foreach (var call in BrowserCalls)
        {
            group.MapMethods("/" + call, [HttpMethods.Post, HttpMethods.Options], (HttpContext context, IHttpClientFactory clients) => ForwardAsync(context, clients, new Uri(origin, "/device/" + call)));
        }

        return group;
    }

    private static async Task ForwardAsync(HttpContext context, IHttpClientFactory clients, Uri target)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        if (HttpMethods.IsPost(context.Request.Method))
        {
            if (context.Request.ContentLength > MaxBodyBytes)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            var body = await ReadBoundedAsync(context.Request.Body, context.RequestAborted);
            if (body is null)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            request.Content = new ByteArrayContent(body);
            if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType))
            {
                request.Content.Headers.ContentType = contentType;
            }
        }

        // Gatehouse checks the page's origin against the app's allowedOrigins, and rate-limits by the
        // browser's address (it trusts X-Forwarded-For only from proxies its operator lists).
        CopyRequestHeader(context, request, "Origin");
        CopyRequestHeader(context, request, "Access-Control-Request-Method");
        CopyRequestHeader(context, request, "Access-Control-Request-Headers");
        if (context.Connection.RemoteIpAddress is { } address)
        {
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", address.ToString());
        }

        HttpResponseMessage answer;
        try
        {
            answer = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            // The agent shows its own message; never the exception's.
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsJsonAsync(new { error = "gatehouse_unreachable", message = "Device verification is unavailable; try again shortly." }, context.RequestAborted);
            return;
        }

        using (answer)
        {
            context.Response.StatusCode = (int)answer.StatusCode;
            foreach (var name in ForwardedResponseHeaders)
            {
                if (answer.Headers.TryGetValues(name, out var values) || answer.Content.Headers.TryGetValues(name, out values))
                {
                    context.Response.Headers[name] = values.ToArray();
                }
            }

            if (answer.Content.Headers.ContentType is { } type)
            {
                context.Response.ContentType = type.ToString();
            }

            await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    private static void CopyRequestHeader(HttpContext context, HttpRequestMessage request, string name)
    {
        if (context.Request.Headers.TryGetValue(name, out var values))
        {
            request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
    }

    /// <summary>The body, or null when it is longer than the agent ever sends.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk.AsSpan(0, read));
        }

        return buffer.ToArray();
    }
}
