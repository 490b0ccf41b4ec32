using System.Net.Http.Headers;
using System.Text;

namespace Gatehouse.Server.Tests.Content;

/// <summary>A response whose body is bytes (file content), with its headers.</summary>
public sealed record BytesResponse(int StatusCode, byte[] Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public ApiResponse AsApi() => new((System.Net.HttpStatusCode)StatusCode, Text, Headers, ContentHeaders);
}

/// <summary>A container with one file shared with one recipient under one rule.</summary>
public sealed record SharedFile(string OrgId, string ContainerId, string FileId, string RuleId, string ShareId, string Token, byte[] Content);

/// <summary>Steps the content tests share: upload, fetch bytes, set up a share.</summary>
public static class ContentScenario
{
    public static byte[] Pattern(int length, int seed = 7) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 31 + seed) % 251))];

    public static async Task<ApiResponse> UploadAsync(this ApiClient client, string orgId, string containerId, byte[] bytes, string name = "report.pdf", string contentType = "application/pdf")
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(bytes);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        form.Add(part, "file", name);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/orgs/{orgId}/containers/{containerId}/files") { Content = form };
        return await SendAsync(client, request);
    }

    public static async Task<ApiResponse> UploadRawAsync(this ApiClient client, string path, HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        return await SendAsync(client, request);
    }

    public static async Task<BytesResponse> GetBytesAsync(this ApiClient client, string path, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (client.ApiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.ApiKey);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.Http.SendAsync(request);
        return new BytesResponse((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(), response.Headers, response.Content.Headers);
    }

    /// <summary>An organization with a contact, a rule, a container holding one file, and a share of it to the contact.</summary>
    public static async Task<SharedFile> ShareAsync(
        this GatehouseServer server, object rule, byte[]? content = null, string recipient = "reader@example.org", string? orgId = null, string name = "report.pdf",
        string contentType = "application/pdf") =>
        await server.Root.ShareAsync(orgId ?? await server.CreateOrgAsync(), rule, content, recipient, name, contentType);

    /// <summary>The same, through any server's root client, in an existing organization.</summary>
    public static async Task<SharedFile> ShareAsync(
        this ApiClient root, string orgId, object rule, byte[]? content = null, string recipient = "reader@example.org", string name = "report.pdf", string contentType = "application/pdf")
    {
        var org = $"/api/v1/orgs/{orgId}";
        (await root.PostAsync($"{org}/address-book", new { email = recipient, name = "Reader" })).StatusCode.ShouldBe(201);
        var createdRule = await root.PostAsync($"{org}/drm-rules", rule);
        createdRule.StatusCode.ShouldBe(201, createdRule.Text);
        var container = await root.PostAsync($"{org}/containers", new { name = "Board pack", drmRuleId = createdRule.Str("id") });
        container.StatusCode.ShouldBe(201, container.Text);
        content ??= Pattern(1024);
        var file = await root.UploadAsync(orgId, container.Str("id"), content, name, contentType);
        file.StatusCode.ShouldBe(201, file.Text);
        var share = await root.PostAsync($"{org}/containers/{container.Str("id")}/shares", new { recipients = new[] { recipient } });
        share.StatusCode.ShouldBe(201, share.Text);
        var token = share.Data.GetProperty("links")[0].GetProperty("token").GetString()!;
        return new SharedFile(orgId, container.Str("id"), file.Str("id"), createdRule.Str("id"), share.Str("id"), token, content);
    }

    public static string ObjectPath(this GatehouseServer server, SharedFile shared) =>
        Path.Combine(server.DataDir, "content", "default", shared.OrgId, shared.ContainerId, shared.FileId);

    public static async Task<List<string>> EventTypesAsync(this GatehouseServer server, string orgId)
    {
        var events = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/events?limit=200");
        events.StatusCode.ShouldBe(200, events.Text);
        return [.. events.Data.EnumerateArray().Select(e => e.GetProperty("type").GetString()!)];
    }

    private static async Task<ApiResponse> SendAsync(ApiClient client, HttpRequestMessage request)
    {
        if (client.ApiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", client.ApiKey);
        }

        using var response = await client.Http.SendAsync(request);
        return new ApiResponse(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers, response.Content.Headers);
    }
}
