using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Users;

/// <summary>A login: its token, session id and the raw Set-Cookie header.</summary>
public sealed record LoggedIn(string Token, string SessionId, string UserId, string? SetCookie, ApiResponse Response);

/// <summary>Steps of the user tests. Logins use clients without a cookie jar, so nothing is sent unless the test sends it.</summary>
public static class UserSteps
{
    /// <summary>Long, and not among the common breached passwords.</summary>
    public const string Password = "correct-horse-battery-staple-42";

    public static string NewEmail(string who = "user") => $"{who}-{Guid.NewGuid():N}@example.org";

    /// <summary>A client that never stores or replays cookies, with an optional bearer token.</summary>
    public static ApiClient CookielessClient(this GatehouseServer server, string? token = null) =>
        new(new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, token);

    public static async Task<string> CreateUserAsync(this GatehouseServer server, string orgId, string email, string? password = Password, string[]? permissions = null, string[]? roles = null)
    {
        var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/users", new { email, name = "Test User", password, permissions = permissions ?? [], roles = roles ?? [] });
        response.StatusCode.ShouldBe(201, response.Text);
        return response.Str("id");
    }

    public static async Task<ApiResponse> TryLoginAsync(this GatehouseServer server, string email, string password, string? orgId = null, IDictionary<string, string>? headers = null) =>
        await server.CookielessClient().PostAsync("/api/v1/auth/local/login", orgId is null ? new { email, password } : new { email, password, orgId }, headers);

    public static async Task<LoggedIn> LoginAsync(this GatehouseServer server, string email, string password = Password, string? orgId = null, IDictionary<string, string>? headers = null)
    {
        var response = await server.TryLoginAsync(email, password, orgId, headers);
        response.StatusCode.ShouldBe(200, response.Text);
        return new LoggedIn(response.Str("token"), response.Data.GetProperty("session").GetProperty("id").GetString()!,
            response.Data.GetProperty("user").GetProperty("id").GetString()!, response.Header("Set-Cookie"), response);
    }

    /// <summary>Sends a request authenticated by the session cookie only (no Authorization header).</summary>
    public static async Task<ApiResponse> SendWithCookieAsync(this GatehouseServer server, HttpMethod method, string path, string token, object? body = null, string? origin = null)
    {
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Cookie", $"__Host-gatehouse_session={token}");
        if (origin is not null)
        {
            request.Headers.TryAddWithoutValidation("Origin", origin);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, ApiResponse.Json), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        using var response = await http.SendAsync(request);
        return new ApiResponse(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers, response.Content.Headers);
    }

    public static string Origin(this GatehouseServer server) => server.BaseAddress.GetLeftPart(UriPartial.Authority);

    public static string[] Fields(this ApiResponse response) =>
        [.. response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()!)];
}
