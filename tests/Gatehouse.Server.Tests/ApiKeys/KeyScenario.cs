using System.Text.Json;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>Steps the API key tests share: make a key, make a client holding an org key, verify.</summary>
public static class KeyScenario
{
    public static async Task<(string Id, string Key)> CreateKeyAsync(this GatehouseServer server, string orgId, object? body = null, ApiClient? client = null)
    {
        var response = await (client ?? server.Root).PostAsync($"/api/v1/orgs/{orgId}/api-keys", body ?? new { name = "test key", permissions = Array.Empty<string>() });
        if (response.StatusCode != 201)
        {
            throw new InvalidOperationException($"Creating a key failed: {response}");
        }

        return (response.Str("id"), response.Str("key"));
    }

    /// <summary>A client authenticated with a new key of <paramref name="orgId"/> holding <paramref name="permissions"/>.</summary>
    public static async Task<ApiClient> OrgClientAsync(this GatehouseServer server, string orgId, params string[] permissions)
    {
        var (_, key) = await server.CreateKeyAsync(orgId, new { name = "caller", permissions });
        return server.CreateClient(key);
    }

    public static Task<ApiResponse> VerifyAsync(this ApiClient client, object body) => client.PostAsync("/api/v1/keys/verify", body);

    public static string Code(this ApiResponse response) => response.Data.GetProperty("code").GetString()!;

    public static JsonElement? Prop(this ApiResponse response, string name) =>
        response.Data.TryGetProperty(name, out var value) ? value : null;

    public static async Task FlushUsageAsync(this GatehouseServer server) =>
        await server.Services.GetRequiredService<Gatehouse.Server.Features.ApiKeys.KeyUsageRecorder>().FlushAsync(CancellationToken.None);
}
