using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>An HTTP client bound to one credential, returning parsed envelopes.</summary>
public sealed class ApiClient(HttpClient http, string? apiKey)
{
    public HttpClient Http { get; } = http;
    public string? ApiKey { get; } = apiKey;

    public Task<ApiResponse> GetAsync(string path, IDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Get, path, null, headers);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public Task<ApiResponse> PostAsync(string path, object? body = null, IDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Post, path, body ?? new { }, headers);

    public Task<ApiResponse> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, body);

    public Task<ApiResponse> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);

    /// <summary>Sends a raw body with the given content type (malformed-input tests).</summary>
    public async Task<ApiResponse> SendRawAsync(HttpMethod method, string path, string? body, string? contentType = "application/json", IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        }

        return await SendAsync(request, headers);
    }

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body, ApiResponse.Json), Encoding.UTF8, "application/json");
        }

        return await SendAsync(request, headers);
    }

    private async Task<ApiResponse> SendAsync(HttpRequestMessage request, IDictionary<string, string>? headers)
    {
        if (ApiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiResponse(response.StatusCode, text, response.Headers, response.Content.Headers);
    }
}

/// <summary>A response: status, raw text, headers and (when JSON) the parsed body.</summary>
public sealed class ApiResponse(HttpStatusCode status, string text, HttpResponseHeaders headers, HttpContentHeaders contentHeaders)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public HttpStatusCode Status { get; } = status;
    public int StatusCode => (int)Status;
    public string Text { get; } = text;
    public HttpResponseHeaders Headers { get; } = headers;
    public HttpContentHeaders ContentHeaders { get; } = contentHeaders;

    public JsonElement Body => JsonDocument.Parse(Text).RootElement;

    public JsonElement Data => Body.GetProperty("data");

    public string? ErrorCode => Body.TryGetProperty("error", out var error) ? error.GetProperty("code").GetString() : null;

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : ContentHeaders.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues) : null;

    public string Str(string property) => Data.GetProperty(property).GetString()!;

    public override string ToString() => $"{StatusCode} {Text}";
}
