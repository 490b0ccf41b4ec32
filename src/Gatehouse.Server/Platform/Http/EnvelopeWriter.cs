using System.Text.Json;
using Gatehouse.Contracts;
using Microsoft.Extensions.Options;

namespace Gatehouse.Server.Platform.Http;

/// <summary>Writes envelopes with the application's JSON options and the request's metadata.</summary>
public static class EnvelopeWriter
{
    public static ResponseMeta Meta(HttpContext httpContext)
    {
        var clock = httpContext.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
        return new ResponseMeta(RequestIds.Get(httpContext), TruncateToSeconds(clock.GetUtcNow().UtcDateTime));
    }

    public static Task WriteAsync<T>(HttpContext httpContext, T body)
    {
        var options = httpContext.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions
            ?? JsonDefaults.Options;
        httpContext.Response.ContentType = "application/json; charset=utf-8";

        // Envelopes are small: serialized in one go into the response's pipe and flushed once, which
        // costs less than the stream serializer's asynchronous buffering.
        var pipe = httpContext.Response.BodyWriter;
        using (var writer = new Utf8JsonWriter(pipe, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented, MaxDepth = options.MaxDepth }))
        {
            JsonSerializer.Serialize(writer, body, options);
        }

        return FlushAsync(pipe, httpContext.RequestAborted);
    }

    private static async Task FlushAsync(System.IO.Pipelines.PipeWriter pipe, CancellationToken cancellationToken) => await pipe.FlushAsync(cancellationToken);

    public static Task WriteErrorAsync(HttpContext httpContext, ApiError error) => error.ExecuteAsync(httpContext);

    private static DateTime TruncateToSeconds(DateTime value) => new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
}
