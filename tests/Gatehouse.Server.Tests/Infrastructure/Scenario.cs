using System.Text.Json;

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>Short steps that many tests share: make an organization, make a role.</summary>
public static class Scenario
{
    public static async Task<string> CreateOrgAsync(this GatehouseServer server, string? name = null)
    {
        var response = await server.Root.PostAsync("/api/v1/orgs", new { name = name ?? "Org " + Guid.NewGuid().ToString("N")[..8] });
        if (response.StatusCode != 201)
        {
            throw new InvalidOperationException($"Creating an organization failed: {response}");
        }

        return response.Str("id");
    }

    public static string[] Strings(this JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
