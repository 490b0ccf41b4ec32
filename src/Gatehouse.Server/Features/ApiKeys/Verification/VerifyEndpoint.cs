using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Features.RateLimits;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// <c>POST /api/v1/keys/verify</c>, written out by hand because it sits in front of every request
/// of our users. The contract is the one every route keeps — body first (415, 400), then
/// credential → rate limit → permission, the envelope, <c>Idempotency-Key</c> — but without the
/// per-request machinery of generated handlers: no endpoint filters, no request service scope,
/// no item bag, and the verdict written from bytes cached per key (docs/performance.md).
/// </summary>
public sealed class VerifyEndpoint(
    KeyVerifier verifier, AuthenticationServices auth, IdempotencyFilter idempotency, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider clock, GatehouseOptions options)
{
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.RequestTimeoutSeconds);
    private readonly JsonTypeInfo<VerifyApiKeyRequest> _requestType = (JsonTypeInfo<VerifyApiKeyRequest>)json.Value.SerializerOptions.GetTypeInfo(typeof(VerifyApiKeyRequest));

    private readonly VerdictWriter _writer = new(json.Value.SerializerOptions, clock);

    /// <summary>Maps the route with the metadata the OpenAPI document and the rate-limit policy read.</summary>
    public static RouteHandlerBuilder Map(IEndpointRouteBuilder app)
    {
        var endpoint = app.ServiceProvider.GetRequiredService<VerifyEndpoint>();
        // Outside the /api/v1 group on purpose: the group's filter would wrap this handler again.
        // A Func (not a RequestDelegate) keeps the method in the metadata, which the API explorer needs.
        return app.MapPost("/api/v1/keys/verify", (Func<HttpContext, Task>)endpoint.HandleAsync)
            .DescribeRequirement(VerifyApiKey.Requirement)
            .Accepts<VerifyApiKeyRequest>("application/json")
            .Produces<Envelope<KeyVerdict>>(StatusCodes.Status200OK, "application/json")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status400BadRequest, typeof(ErrorEnvelope), ["application/json"]))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status422UnprocessableEntity, typeof(ErrorEnvelope), ["application/json"]))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status500InternalServerError, typeof(ErrorEnvelope), ["application/json"]))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(ErrorEnvelope), ["application/json"]))
            // The request timeout is kept by HandleAsync itself, which arms it only when it must wait.
            .WithMetadata(new Microsoft.AspNetCore.Http.Timeouts.DisableRequestTimeoutAttribute())
            .WithTags("API keys")
            .WithRateLimitPolicy(RateLimitPolicyMetadata.Verify)
            .WithName("VerifyKey")
            .WithExactRouteShortcut()
            .WithSummary("Always 200 for a well-formed request: the verdict is in the body. A key of another organization than the caller's is NOT_FOUND (root may verify any key).");
    }

    public async Task HandleAsync(HttpContext httpContext)
    {
        var request = await ReadRequestAsync(httpContext);
        if (request is null)
        {
            return; // 415 or 400, answered (ApiPipeline gives a bare 415 its envelope)
        }

        // RequestTimeoutSeconds, as the timeout middleware keeps it for other routes (503, work
        // cancelled), but its timer is armed only when the answer is not ready at once: a cached
        // key is answered without waiting, and the middleware's linked source and timer per
        // request were a tenth of a verify's allocations.
        using var deadline = new CancellationTokenSource();
        var work = httpContext.Request.Headers.ContainsKey(IdempotencyFilter.Header)
            ? HandleIdempotentAsync(httpContext, request, deadline.Token)
            : DecideAsync(httpContext, request, deadline.Token);
        if (work.IsCompleted)
        {
            await work;
            return;
        }

        var aborted = httpContext.RequestAborted;
        await using var abortLink = aborted.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), deadline);
        deadline.CancelAfter(_timeout);
        try
        {
            await work;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            if (!httpContext.Response.HasStarted)
            {
                // ApiPipeline answers a bare 503 with SERVICE_UNAVAILABLE, as for the middleware's timeouts.
                httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            }
        }
    }

    /// <summary>The plain path: authorize without touching the item bag, decide, and write the verdict from cached bytes.</summary>
    private async Task DecideAsync(HttpContext httpContext, VerifyApiKeyRequest request, CancellationToken cancellationToken)
    {
        var outcome = await Authentication.ResolveUncachedAsync(httpContext, auth, cancellationToken);
        if (await Authorization.AuthorizeAsync(httpContext, VerifyApiKey.Requirement, outcome, auth, cancellationToken) is { } denied)
        {
            await denied.ExecuteAsync(httpContext);
            return;
        }

        var decision = await DecideAsync(httpContext, request, outcome.Principal!, cancellationToken);
        if (decision.Rejected is { } rejected)
        {
            await rejected.ExecuteAsync(httpContext);
            return;
        }

        await _writer.WriteAsync(httpContext, decision.Verdict!);
    }

    /// <summary>
    /// The one decision of a verify, for a caller already authorized: the route's own checks (no
    /// query parameters, a well-formed request), then the verdict. Both paths — plain and
    /// idempotent — run exactly this.
    /// </summary>
    private async ValueTask<Decision> DecideAsync(HttpContext httpContext, VerifyApiKeyRequest request, Principal caller, CancellationToken cancellationToken)
    {
        if (httpContext.Request.QueryString.HasValue && UnknownQuery(httpContext) is { } rejected)
        {
            return new Decision(rejected, null);
        }

        if (VerifyApiKey.TryParse(request, out var input) is { } invalid)
        {
            return new Decision(invalid, null);
        }

        return new Decision(null, await verifier.VerifyAsync(input, VerifyApiKey.CallerOrg(caller), cancellationToken, IdempotencyClaim.Of(httpContext)));
    }

    /// <summary>A verify's outcome: a rejection of the request, or the verdict on the key.</summary>
    private readonly record struct Decision(ApiError? Rejected, KeyVerdict? Verdict);

    /// <summary>
    /// The body as the generated handlers bind it: no body is 400, a body that is not JSON 415,
    /// malformed JSON throws (ApiPipeline answers 400 with where it broke), and <c>null</c> is 400.
    /// </summary>
    private async ValueTask<VerifyApiKeyRequest?> ReadRequestAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        if (httpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            await BodyRequired.ExecuteAsync(httpContext);
            return null;
        }

        if (!IsJson(request.ContentType) && !request.HasJsonContentType())
        {
            httpContext.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return null;
        }

        var body = request.BodyReader;
        while (true)
        {
            var read = await body.ReadAsync(httpContext.RequestAborted);
            if (read.IsCompleted || read.IsCanceled)
            {
                try
                {
                    var parsed = Parse(read.Buffer);
                    if (parsed is null)
                    {
                        await BodyRequired.ExecuteAsync(httpContext);
                    }

                    return parsed;
                }
                finally
                {
                    body.AdvanceTo(read.Buffer.End);
                }
            }

            // Not all of it yet: keep what arrived and wait for the rest (the body size limit still applies).
            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private VerifyApiKeyRequest? Parse(ReadOnlySequence<byte> buffer)
    {
        if (TryReadPlain(buffer) is { } plain)
        {
            return plain;
        }

        var reader = new Utf8JsonReader(buffer, new JsonReaderOptions { MaxDepth = JsonDefaults.MaxDepth });
        return JsonSerializer.Deserialize(ref reader, _requestType);
    }

    /// <summary>
    /// The body of nearly every verify — one object of distinct members key, permissions, ip
    /// (strings or null) and cost (a whole number or null), spelt so — read straight from the
    /// reader, which is what the serializer would make of it. Null for anything else (ratelimits,
    /// tags, another spelling or member, a repeat, an escaped string that could hide a NUL, another
    /// type, broken JSON): the serializer's strict reading then accepts it or names what is wrong.
    /// </summary>
    internal static VerifyApiKeyRequest? TryReadPlain(ReadOnlySequence<byte> buffer)
    {
        var reader = new Utf8JsonReader(buffer, new JsonReaderOptions { MaxDepth = JsonDefaults.MaxDepth });
        string? key = null, permissions = null, ip = null;
        long? cost = null;
        var seen = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var member = reader.ValueTextEquals("key"u8) ? 1
                    : reader.ValueTextEquals("permissions"u8) ? 2
                    : reader.ValueTextEquals("cost"u8) ? 4
                    : reader.ValueTextEquals("ip"u8) ? 8
                    : 0;
                if (member == 0 || (seen & member) != 0 || !reader.Read())
                {
                    return null;
                }

                seen |= member;
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (member == 4)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var number))
                    {
                        return null;
                    }

                    cost = number;
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
                {
                    return null;
                }

                switch (member)
                {
                    case 1:
                        key = reader.GetString();
                        break;
                    case 2:
                        permissions = reader.GetString();
                        break;
                    default:
                        ip = reader.GetString();
                        break;
                }
            }

            // The object must close, and nothing may follow it.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read()
                ? new VerifyApiKeyRequest { Key = key, Permissions = permissions, Cost = cost, Ip = ip }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The route takes no query parameters: any is rejected by name, as the /api/v1 group's filter does (which does not wrap this handler).</summary>
    private static ApiError? UnknownQuery(HttpContext httpContext) =>
        QueryParameters.Unknown(httpContext.Request.Query, NoQuery) is { } unknown ? ApiPipeline.RejectedFields(unknown) : null;

    private static readonly HashSet<string> NoQuery = [];

    private static ApiError BodyRequired => ApiError.Invalid("A JSON request body is required.");

    /// <summary>The common spellings, compared without parsing; anything else goes to the framework's own check.</summary>
    private static bool IsJson(string? contentType) =>
        string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase)
        || string.Equals(contentType, "application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase);

    /// <summary>A retry-safe verify: through the same filter as every other POST, which stores and replays the answer.</summary>
    private async Task HandleIdempotentAsync(HttpContext httpContext, VerifyApiKeyRequest request, CancellationToken cancellationToken)
    {
        // Authorized before the stored answer is looked up, as on every other route: a replay
        // goes only to the credential that made the request, and only while it may still make it.
        var outcome = await Authentication.ResolveAsync(httpContext);
        if (await Authorization.AuthorizeAsync(httpContext, VerifyApiKey.Requirement, outcome, auth, cancellationToken) is { } denied)
        {
            await denied.ExecuteAsync(httpContext);
            return;
        }

        var invocation = new DefaultEndpointFilterInvocationContext(httpContext, request);
        var result = await idempotency.InvokeAsync(invocation, async _ =>
        {
            var decision = await DecideAsync(httpContext, request, outcome.Principal!, cancellationToken);
            return decision.Rejected is { } rejected ? rejected : new ApiOk<KeyVerdict>(decision.Verdict!);
        });
        if (result is IResult executable)
        {
            await executable.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>
/// Writes the verify envelope: <c>{"success":true,"data":{verdict},"meta":{…}}</c>, byte for byte
/// what the serializer writes for <see cref="Envelope{T}"/> of <see cref="KeyVerdict"/> (a test
/// holds the two together). The fields that only change with the key are serialized once per
/// cached key; per request only the verdict code, credits, rate limits and meta are written.
/// </summary>
public sealed class VerdictWriter(JsonSerializerOptions options, TimeProvider clock)
{
    [ThreadStatic]
    private static Buffers? t_buffers;

    private readonly JsonWriterOptions _writerOptions = new() { Encoder = options.Encoder, Indented = options.WriteIndented, MaxDepth = options.MaxDepth };

    public Task WriteAsync(HttpContext httpContext, KeyVerdict verdict)
    {
        var buffers = t_buffers ??= new Buffers(_writerOptions);
        buffers.Output.ResetWrittenCount();
        buffers.Writer.Reset(buffers.Output);
        Write(buffers.Writer, buffers.Output, verdict, RequestIds.Get(httpContext), clock.GetUtcNow().UtcDateTime);

        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffers.Output.WrittenCount;
        var pipe = response.BodyWriter;
        pipe.Write(buffers.Output.WrittenSpan);
        buffers.Writer.Reset(Stream.Null);
        return FlushAsync(pipe, httpContext.RequestAborted);
    }

    /// <summary>Writes the whole envelope with <paramref name="writer"/>, which writes to <paramref name="output"/> (flushed when it returns).</summary>
    public void Write(Utf8JsonWriter writer, IBufferWriter<byte> output, KeyVerdict verdict, string requestId, DateTime now)
    {
        if (verdict is CachedKeyVerdict { Source: var key, Code: VerifyCodes.Valid, Remaining: null, Ratelimits: null or { Count: 0 } } && !_writerOptions.Indented && NeedsNoEscaping(requestId))
        {
            // The answer of nearly every verify: everything before the request id is fixed per key.
            output.Write(key.PlainValidPrefix ??= PlainValidPrefix(verdict));
            var id = output.GetSpan(requestId.Length);
            System.Text.Encoding.ASCII.GetBytes(requestId, id);
            output.Advance(requestId.Length);
            output.Write("\",\"timestamp\":\""u8);
            var written = WriteTimestamp(output.GetSpan(TimestampLength), now);
            output.Advance(written);
            output.Write("\"}}"u8);
            return;
        }

        writer.WriteStartObject();
        writer.WriteBoolean("success"u8, true);
        writer.WritePropertyName("data"u8);
        writer.WriteStartObject();
        writer.WriteBoolean("valid"u8, verdict.Valid);
        writer.WriteString("code"u8, verdict.Code);
        if (verdict.Code != VerifyCodes.NotFound)
        {
            var keyFields = verdict is CachedKeyVerdict { Source: var source } ? source.VerdictFields ??= KeyFields(verdict) : KeyFields(verdict);
            // The writer has just written a value, so the cached fields go on after a comma; it
            // then writes the next property with its own separating comma, as it would anyway.
            writer.Flush();
            output.Write(keyFields);
            WriteRemaining(writer, verdict.Remaining);
            writer.WritePropertyName("ratelimits"u8);
            if (verdict.Ratelimits is null or { Count: 0 })
            {
                writer.WriteStartArray();
                writer.WriteEndArray();
            }
            else
            {
                JsonSerializer.Serialize(writer, verdict.Ratelimits, options);
            }
        }

        writer.WriteEndObject();
        writer.WritePropertyName("meta"u8);
        writer.WriteStartObject();
        writer.WriteString("requestId"u8, requestId);
        Span<byte> timestamp = stackalloc byte[TimestampLength];
        writer.WriteString("timestamp"u8, timestamp[..WriteTimestamp(timestamp, now)]);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
    }

    private const int TimestampLength = 20;

    /// <summary>Whole seconds, as every envelope's timestamp: yyyy-MM-ddTHH:mm:ssZ. Returns the bytes written.</summary>
    private static int WriteTimestamp(Span<byte> destination, DateTime now)
    {
        now.TryFormat(destination, out var length, "s", System.Globalization.CultureInfo.InvariantCulture);
        destination[length++] = (byte)'Z';
        return length;
    }

    /// <summary>A request id is printable ASCII (RequestIds); of that, the encoder escapes only the quote and the backslash.</summary>
    private static bool NeedsNoEscaping(string requestId) =>
        requestId.AsSpan().IndexOfAnyExceptInRange(' ', '~') < 0 && requestId.AsSpan().IndexOfAny('"', '\\') < 0;

    /// <summary><c>{"success":true,"data":{…the VALID verdict…},"meta":{"requestId":"</c>, as the general path writes it.</summary>
    private byte[] PlainValidPrefix(KeyVerdict verdict)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        buffer.Write("{\"success\":true,\"data\":{\"valid\":true,\"code\":\"VALID\""u8);
        buffer.Write(((CachedKeyVerdict)verdict).Source.VerdictFields ??= KeyFields(verdict));
        buffer.Write(",\"remaining\":null,\"ratelimits\":[]},\"meta\":{\"requestId\":\""u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteRemaining(Utf8JsonWriter writer, long? remaining)
    {
        if (remaining is { } value)
        {
            writer.WriteNumber("remaining"u8, value);
        }
        else
        {
            writer.WriteNull("remaining"u8);
        }
    }

    /// <summary>keyId … expiresAt, as the serializer writes them.</summary>
    private byte[] KeyFields(KeyVerdict verdict)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, _writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("keyId"u8, verdict.KeyId);
            writer.WriteString("orgId"u8, verdict.OrgId);
            writer.WriteString("name"u8, verdict.Name);
            writer.WriteString("ownerId"u8, verdict.OwnerId);
            writer.WritePropertyName("meta"u8);
            JsonSerializer.Serialize(writer, verdict.Meta, options);
            writer.WritePropertyName("permissions"u8);
            JsonSerializer.Serialize(writer, verdict.Permissions, options);
            writer.WritePropertyName("roles"u8);
            JsonSerializer.Serialize(writer, verdict.Roles, options);
            writer.WritePropertyName("expiresAt"u8);
            JsonSerializer.Serialize(writer, verdict.ExpiresAt, options);
            writer.WriteEndObject();
        }

        // {"keyId":…,"expiresAt":…} → ,"keyId":…,"expiresAt":…
        var fields = buffer.WrittenSpan[1..^1].ToArray();
        var withComma = new byte[fields.Length + 1];
        withComma[0] = (byte)',';
        fields.CopyTo(withComma, 1);
        return withComma;
    }

    private static async Task FlushAsync(PipeWriter pipe, CancellationToken cancellationToken) => await pipe.FlushAsync(cancellationToken);

    private sealed class Buffers(JsonWriterOptions options)
    {
        public ArrayBufferWriter<byte> Output { get; } = new(1024);
        public Utf8JsonWriter Writer { get; } = new(Stream.Null, options);
    }
}
