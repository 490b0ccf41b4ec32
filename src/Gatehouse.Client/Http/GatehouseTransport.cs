using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Contracts;

namespace Gatehouse.Client;

/// <summary>
/// Sends one call: credential, request id and idempotency headers, the retry loop, and the envelope
/// turned into the <c>data</c> record or a <see cref="GatehouseApiException"/>.
/// </summary>
internal sealed class GatehouseTransport
{
    private const string UserAgent = "Gatehouse.Client/0.1.0";

    // Reading is lenient (a newer server may add fields); writing leaves absent (null) fields out,
    // because the server rejects unknown fields but treats an absent one as "unchanged".
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The GateKey routes (gateways, PKI, API.md §10): the same, with snake_case member names in bodies and the envelope.</summary>
    internal static readonly JsonSerializerOptions SnakeCaseJson = new(Json) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly HttpClient _http;
    private readonly GatehouseClientOptions _options;
    private readonly Uri _apiBase;
    private readonly string? _credential;
    private readonly string? _credentialHeader;

    /// <summary>
    /// A transport over <paramref name="http"/> with <paramref name="options"/>. <paramref name="credential"/>,
    /// when given, is sent instead of <see cref="GatehouseClientOptions.ApiKey"/> (a gateway token), in the
    /// header <paramref name="credentialHeader"/> (null: <c>Authorization: Bearer</c>).
    /// </summary>
    public GatehouseTransport(HttpClient http, GatehouseClientOptions options, string? credential = null, string? credentialHeader = null)
    {
        options.Validate();
        _http = http;
        _options = options;
        _apiBase = options.ApiBase();
        _credential = credential;
        _credentialHeader = credentialHeader;
    }

    public GatehouseClientOptions Options => _options;

    public HttpClient HttpClient => _http;

    public async Task<T> SendAsync<T>(
        HttpMethod method, string path, object? body, RequestOptions? request, CancellationToken cancellationToken, bool idempotent = true, JsonSerializerOptions? json = null)
    {
        using var response = await SendWithRetriesAsync(method, path, body, request, idempotent, cancellationToken, json: json);
        var envelope = await ReadEnvelopeAsync<T>(response, json ?? Json, cancellationToken);
        return envelope.Data;
    }

    public async Task<Page<T>> SendPageAsync<T>(string path, ListQuery? query, RequestOptions? request, CancellationToken cancellationToken, JsonSerializerOptions? json = null)
    {
        using var response = await SendWithRetriesAsync(HttpMethod.Get, path + (query ?? new ListQuery()).ToQueryString(), null, request, true, cancellationToken, json: json);
        var envelope = await ReadEnvelopeAsync<IReadOnlyList<T>>(response, json ?? Json, cancellationToken);
        var pagination = envelope.Meta.Pagination ?? new Pagination(envelope.Data.Count, envelope.Data.Count, 0, 1, false);
        return new Page<T>(envelope.Data, pagination);
    }

    /// <summary>Newline-delimited JSON (the audit export): one record per line, read as it streams.</summary>
    public async IAsyncEnumerable<T> StreamLinesAsync<T>(string path, RequestOptions? request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(HttpMethod.Get, path, null, request, true, cancellationToken, "application/x-ndjson");
        if (!response.IsSuccessStatusCode)
        {
            throw await ReadErrorAsync(response, cancellationToken);
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return JsonSerializer.Deserialize<T>(line, Json) ?? throw Unexpected(response, "an empty line record");
            }
        }
    }

    /// <summary>A GET of a file the server sends outside the envelope (a CA certificate, a CRL); an error answer throws as usual.</summary>
    public async Task<byte[]> SendForBytesAsync(string path, string accept, RequestOptions? request, CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(HttpMethod.Get, path, null, request, true, cancellationToken, accept);
        if (!response.IsSuccessStatusCode)
        {
            throw await ReadErrorAsync(response, cancellationToken);
        }

        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>A call outside the envelope (<c>GET /health</c>): the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, T? Body)> SendBareAsync<T>(Uri absolute, RequestOptions? request, CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(HttpMethod.Get, absolute.AbsoluteUri, null, request, true, cancellationToken, retryUnavailable: false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        try
        {
            return (response.StatusCode, JsonSerializer.Deserialize<T>(bytes, Json));
        }
        catch (JsonException)
        {
            return (response.StatusCode, default);
        }
    }

    public Uri ServerRoot => new(_apiBase, "../../");

    private async Task<HttpResponseMessage> SendWithRetriesAsync(
        HttpMethod method, string path, object? body, RequestOptions? request, bool idempotent, CancellationToken cancellationToken,
        string accept = "application/json", bool retryUnavailable = true, JsonSerializerOptions? json = null)
    {
        var maxAttempts = Math.Max(1, request?.MaxAttempts ?? _options.MaxAttempts);
        var timeout = request?.Timeout ?? _options.RequestTimeout;
        var content = body is null ? null : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), json ?? Json);
        if (content is null && method == HttpMethod.Post)
        {
            content = "{}"u8.ToArray();
        }

        // One key for every attempt of this call: a retry after a lost response replays the first
        // answer instead of creating a second key, org or delivery.
        var idempotencyKey = request?.IdempotencyKey ?? (method == HttpMethod.Post && idempotent ? "gh-sdk-" + Guid.NewGuid().ToString("N") : null);
        var uri = Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal) ? absolute : new Uri(_apiBase, path.TrimStart('/'));

        Exception? lastFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            using var message = new HttpRequestMessage(method, uri);
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            message.Headers.UserAgent.ParseAdd(UserAgent);
            var credential = request?.ApiKey ?? _credential ?? _options.ApiKey;
            if (!string.IsNullOrEmpty(credential) && _credentialHeader is not null)
            {
                message.Headers.TryAddWithoutValidation(_credentialHeader, credential);
            }
            else if (!string.IsNullOrEmpty(credential))
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
            }

            if (request?.RequestId is { Length: > 0 } requestId)
            {
                message.Headers.TryAddWithoutValidation("X-Request-Id", requestId);
            }

            if (idempotencyKey is not null)
            {
                message.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
            }

            if (content is not null)
            {
                message.Content = new ByteArrayContent(content);
                message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }

            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                attemptTimeout.CancelAfter(timeout);
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token);
                if (accept != "application/x-ndjson" || !response.IsSuccessStatusCode)
                {
                    // Buffer the body inside the attempt's deadline, so a stalled body is a timeout too.
                    await response.Content.LoadIntoBufferAsync(attemptTimeout.Token);
                }
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                lastFailure = new TimeoutException($"Gatehouse did not answer within {timeout.TotalSeconds:0.###} s.", ex);
                if (attempt < maxAttempts && (idempotencyKey is not null || method != HttpMethod.Post))
                {
                    await Task.Delay(Backoff(attempt), _options.TimeProvider, cancellationToken);
                    continue;
                }

                throw new GatehouseUnavailableException(lastFailure.Message, lastFailure);
            }
            catch (HttpRequestException ex)
            {
                lastFailure = ex;
                // A POST without an idempotency key (verify) is retried only when it never left this
                // process: a lost answer must not spend a key's credits twice.
                var safe = idempotencyKey is not null || method != HttpMethod.Post || ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError;
                if (attempt < maxAttempts && safe)
                {
                    await Task.Delay(Backoff(attempt), _options.TimeProvider, cancellationToken);
                    continue;
                }

                throw new GatehouseUnavailableException($"Gatehouse could not be reached: {ex.Message}", ex);
            }

            var status = (int)response.StatusCode;
            if ((status == 429 || (status == 503 && retryUnavailable)) && attempt < maxAttempts)
            {
                var wait = RetryAfter(response) ?? Backoff(attempt);
                if (wait <= _options.MaxRetryDelay)
                {
                    response.Dispose();
                    await Task.Delay(wait, _options.TimeProvider, cancellationToken);
                    continue;
                }
            }

            return response;
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_options.MaxRetryDelay.TotalMilliseconds, _options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        // Half fixed, half random: callers that failed together do not come back together.
        var half = ceiling / 2;
        return TimeSpan.FromMilliseconds(half + (RandomNumberGenerator.GetInt32(1001) / 1000.0 * half));
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - _options.TimeProvider.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static async Task<Envelope<T>> ReadEnvelopeAsync<T>(HttpResponseMessage response, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await ReadErrorAsync(response, cancellationToken);
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        try
        {
            return JsonSerializer.Deserialize<Envelope<T>>(bytes, json) ?? throw Unexpected(response, "an empty body");
        }
        catch (JsonException ex)
        {
            throw new GatehouseApiException(response.StatusCode, GatehouseApiException.UnexpectedResponse,
                $"The response was not the expected envelope: {ex.Message}", RequestIdOf(response), default);
        }
    }

    private static async Task<GatehouseApiException> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String)
            {
                var message = error.TryGetProperty("message", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString()! : code.GetString()!;
                var details = error.TryGetProperty("details", out var found) ? found.Clone() : default;
                var requestId = root.TryGetProperty("meta", out var meta) && meta.ValueKind == JsonValueKind.Object
                    && (meta.TryGetProperty("requestId", out var id) || meta.TryGetProperty("request_id", out id))
                    ? id.GetString() : RequestIdOf(response);
                return GatehouseApiException.Create(response.StatusCode, code.GetString()!, message, requestId, details, retryAfter);
            }
        }
        catch (JsonException)
        {
        }

        return Unexpected(response, $"HTTP {(int)response.StatusCode} without an error envelope");
    }

    private static GatehouseApiException Unexpected(HttpResponseMessage response, string what) =>
        new(response.StatusCode, GatehouseApiException.UnexpectedResponse, $"Gatehouse answered with {what}.", RequestIdOf(response), default,
            response.Headers.RetryAfter?.Delta);

    private static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Request-Id", out var values) ? values.FirstOrDefault() : null;
}
