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

    public static Task WriteAsync<T>(HttpContext httpContext, T body) => WriteAsync(httpContext, body, ApplicationOptions(httpContext));

    /// <summary>
    /// A success: <paramref name="data"/> with <paramref name="statusCode"/>, in the shape of the route's
    /// <see cref="ResponseProfile"/> (the envelope unless the route declares another).
    /// </summary>
    public static Task WriteDataAsync<T>(HttpContext httpContext, int statusCode, T data, Pagination? pagination = null)
    {
        var profile = ResponseProfile.Of(httpContext);
        httpContext.Response.StatusCode = profile.SuccessStatus ?? statusCode;
        var options = profile.Options(ApplicationOptions(httpContext));
        if (profile.Style == ResponseStyle.Bare)
        {
            return profile.SuccessMessage is { } message
                ? WriteAsync(httpContext, new BareMessage(message), options)
                : WriteAsync(httpContext, data, options);
        }

        var meta = Meta(httpContext);
        return WriteAsync(httpContext, new Envelope<T>(data, pagination is null ? meta : meta with { Pagination = pagination }), options);
    }

    /// <summary>A failure, in the shape of <paramref name="profile"/> (by default the serving route's).</summary>
    public static Task WriteErrorAsync(HttpContext httpContext, ApiError error, ResponseProfile? profile = null)
    {
        profile ??= ResponseProfile.Of(httpContext);
        foreach (var (name, value) in error.Headers)
        {
            httpContext.Response.Headers[name] = value;
        }

        httpContext.Response.StatusCode = ErrorCodes.Status[error.Code];
        var options = profile.Options(ApplicationOptions(httpContext));
        var body = new ErrorBody(error.Code, error.Message, error.Details);
        return profile.Style == ResponseStyle.Bare
            ? WriteAsync(httpContext, new BareError(body), options)
            : WriteAsync(httpContext, new ErrorEnvelope(body, Meta(httpContext)), options);
    }

    private static JsonSerializerOptions ApplicationOptions(HttpContext httpContext) =>
        httpContext.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions ?? JsonDefaults.Options;

    private static Task WriteAsync<T>(HttpContext httpContext, T body, JsonSerializerOptions options)
    {
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

    private static DateTime TruncateToSeconds(DateTime value) => new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
}
