using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>A device as the agent is one: a P-256 key pair that signs the server's challenges.</summary>
public sealed class TestDevice : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string? DeviceId { get; set; }

    /// <summary>The public key as WebCrypto exports it (with <c>ext</c> and <c>key_ops</c>).</summary>
    public object PublicJwk
    {
        get
        {
            var p = _key.ExportParameters(false);
            return new Dictionary<string, object> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!), ["ext"] = true, ["key_ops"] = new[] { "verify" } };
        }
    }

    public string Sign(string message) => B64(_key.SignData(Encoding.UTF8.GetBytes(message), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose() => _key.Dispose();
}

/// <summary>Steps the device tests share: an app, a client with device permissions, the browser side of the flow over plain HTTP.</summary>
public static class DeviceSteps
{
    public const string Callback = "https://app.example/callback";
    public const string AppOrigin = "https://app.example";

    public static async Task<string> CreateAppAsync(this GatehouseServer server, string orgId, object? body = null)
    {
        var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/device-apps",
            body ?? new { name = "app " + Guid.NewGuid().ToString("N")[..8], redirectUrls = new[] { Callback }, allowedOrigins = new[] { AppOrigin } });
        response.StatusCode.ShouldBe(201, response.Text);
        return response.Str("id");
    }

    /// <summary>A browser endpoint (<c>/device/…</c>): plain JSON, an optional Origin.</summary>
    public static async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> BrowserPostAsync(this GatehouseServer server, string path, object body, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        var response = await server.Anonymous.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone(), response);
    }

    /// <summary>Starts a flow for <paramref name="userId"/> through the app's backend and returns the request id.</summary>
    public static async Task<string> AuthUrlAsync(this ApiClient backend, string appId, string userId, string sessionId = "app-session-1", string redirectUrl = Callback)
    {
        var url = await backend.PostAsync("/api/v1/device-auth/url", new { gatewayUuid = appId, userId, sessionId, redirectUrl });
        url.StatusCode.ShouldBe(200, url.Text);
        return url.Str("requestId");
    }

    /// <summary>What the agent does on the hosted page: register on first use, prove afterwards. Returns the token of the redirect.</summary>
    public static async Task<(string Token, JsonElement Answer)> PassPageAsync(this GatehouseServer server, string requestId, TestDevice device)
    {
        var (status, challenge, _) = await server.BrowserPostAsync("/device/challenge", new { request = requestId });
        status.ShouldBe(200, challenge.ToString());
        var nonce = challenge.GetProperty("nonce").GetString()!;
        var signature = device.Sign($"gatehouse-device-auth:{requestId}:{nonce}");
        var (answerStatus, answer, _) = device.DeviceId is null
            ? await server.BrowserPostAsync("/device/register", new { request = requestId, nonce, publicKeyJwk = device.PublicJwk, signature })
            : await server.BrowserPostAsync("/device/prove", new { request = requestId, nonce, deviceId = device.DeviceId, signature });
        answerStatus.ShouldBe(200, answer.ToString());
        device.DeviceId = answer.GetProperty("deviceId").GetString();
        var redirect = new Uri(answer.GetProperty("redirectUrl").GetString()!);
        redirect.GetLeftPart(UriPartial.Path).ShouldBe(Callback);
        var token = System.Web.HttpUtility.ParseQueryString(redirect.Query)["token"]!;
        return (token, answer);
    }

    /// <summary>The whole flow: URL, page, verify. Returns verify's data.</summary>
    public static async Task<JsonElement> SignInAsync(this GatehouseServer server, ApiClient backend, string appId, string userId, TestDevice device)
    {
        var requestId = await backend.AuthUrlAsync(appId, userId);
        var (token, _) = await server.PassPageAsync(requestId, device);
        var verified = await backend.PostAsync("/api/v1/device-auth/verify", new { token, userId });
        verified.StatusCode.ShouldBe(200, verified.Text);
        return verified.Data;
    }

    /// <summary>A proof for <paramref name="sessionId"/>: a challenge from the browser endpoint, signed by the device.</summary>
    public static async Task<object> ProofAsync(this GatehouseServer server, string sessionId, TestDevice device)
    {
        var (status, challenge, _) = await server.BrowserPostAsync("/device/challenge", new { sessionId });
        status.ShouldBe(200, challenge.ToString());
        var nonce = challenge.GetProperty("nonce").GetString()!;
        return new { nonce, signature = device.Sign($"gatehouse-session:{sessionId}:{nonce}") };
    }

    public static Task<ApiClient> DeviceClientAsync(this GatehouseServer server, string orgId) => server.OrgClientAsync(orgId, "devices:read", "devices:write");

    /// <summary>The actions of the organization's audit trail, oldest first.</summary>
    public static async Task<List<string>> AuditActionsAsync(this GatehouseServer server, string orgId)
    {
        var logs = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200&sort=createdAt");
        logs.StatusCode.ShouldBe(200, logs.Text);
        return [.. logs.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()!)];
    }
}
