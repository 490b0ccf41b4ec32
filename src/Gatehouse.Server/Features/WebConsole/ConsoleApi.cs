using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gatehouse.Server.Features.WebConsole;

/// <summary>An error answer of the API, as the console shows it.</summary>
public sealed class ConsoleApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;

    /// <summary>The session is gone (ended, expired, idle): the console sends the browser to the login page.</summary>
    public bool SessionEnded => Status == StatusCodes.Status401Unauthorized;
}

/// <summary>One page of a list answer.</summary>
public sealed record ConsolePage<T>(IReadOnlyList<T> Items, Pagination? Pagination);

/// <summary>
/// The console's only way to read or change anything: HTTP requests to this server's own
/// <c>/api/v1</c>, with the user's session token as the bearer credential. Every console action
/// therefore passes the same authentication, permission checks, rate limits, idempotency,
/// validation and audit as any API client's — there is no second door (decision 0025).
/// </summary>
public sealed class ConsoleTransport(IServer server, WebConsoleOptions options) : IDisposable
{
    // The API answers camelCase views; a field the console does not know yet is not its concern.
    internal static readonly JsonSerializerOptions Json = new(JsonDefaults.Options) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false, UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private Uri? _apiBase;

    public ConsoleApi For(string sessionToken) => new(this, sessionToken);

    internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.RequestUri = new Uri(ApiBase(), request.RequestUri!.OriginalString.TrimStart('/'));
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
    }

    /// <summary>The configured address, or the first address this server listens on (a wildcard host becomes loopback).</summary>
    private Uri ApiBase()
    {
        if (_apiBase is { } known)
        {
            return known;
        }

        var configured = options.ApiBaseUrl;
        if (string.IsNullOrWhiteSpace(configured))
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            configured = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("The server has no listening address yet; set Gatehouse:WebConsole:ApiBaseUrl.");
            configured = configured.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://[::1]", StringComparison.Ordinal);
        }

        _apiBase = new Uri(configured.TrimEnd('/') + "/api/v1/");
        return _apiBase;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>The API as one signed-in user sees it.</summary>
public sealed class ConsoleApi(ConsoleTransport transport, string sessionToken)
{
    public Task<T> GetAsync<T>(string path, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    public async Task<ConsolePage<T>> ListAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        using var document = await SendRawAsync(HttpMethod.Get, path, null, cancellationToken);
        var items = document.RootElement.GetProperty("data").Deserialize<List<T>>(ConsoleTransport.Json) ?? [];
        var pagination = document.RootElement.TryGetProperty("meta", out var meta) && meta.TryGetProperty("pagination", out var page)
            ? page.Deserialize<Pagination>(ConsoleTransport.Json)
            : null;
        return new ConsolePage<T>(items, pagination);
    }

    public Task<T> PostAsync<T>(string path, object? body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Post, path, body ?? new { }, cancellationToken);

    public Task<T> PatchAsync<T>(string path, object body, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Patch, path, body, cancellationToken);

    public Task<T> DeleteAsync<T>(string path, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Delete, path, null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var document = await SendRawAsync(method, path, body, cancellationToken);
        return document.RootElement.GetProperty("data").Deserialize<T>(ConsoleTransport.Json)
            ?? throw new ConsoleApiException(StatusCodes.Status502BadGateway, ErrorCodes.InternalError, "The API answered without data.");
    }

    private async Task<JsonDocument> SendRawAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path.TrimStart('/'), UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", sessionToken);
        request.Headers.UserAgent.ParseAdd("gatehouse-console");
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: ConsoleTransport.Json);
        }

        using var response = await transport.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            throw new ConsoleApiException((int)response.StatusCode, ErrorCodes.InternalError, $"The API answered {(int)response.StatusCode} without an envelope.");
        }

        if (response.IsSuccessStatusCode)
        {
            return document;
        }

        using (document)
        {
            var error = document.RootElement.TryGetProperty("error", out var e) ? e : default;
            var code = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) ? c.GetString() ?? "" : "";
            var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
            throw new ConsoleApiException((int)response.StatusCode, code, message);
        }
    }
}
