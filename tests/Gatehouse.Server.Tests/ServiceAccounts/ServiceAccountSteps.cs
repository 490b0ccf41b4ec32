namespace Gatehouse.Server.Tests.ServiceAccounts;

/// <summary>Steps the service account tests share.</summary>
public static class ServiceAccountSteps
{
    /// <summary>Creates a service account through the org route; returns its id and its first key's id and secret.</summary>
    public static async Task<(string Id, string KeyId, string Key)> CreateServiceAccountAsync(
        this GatehouseServer server, string orgId, string[] permissions, string? name = null, ApiClient? client = null)
    {
        var response = await (client ?? server.Root).PostAsync($"/api/v1/orgs/{orgId}/service-accounts", new { name = name ?? "robot-" + Guid.NewGuid().ToString("N")[..8], permissions });
        if (response.StatusCode != 201)
        {
            throw new InvalidOperationException($"Creating a service account failed: {response}");
        }

        var key = response.Data.GetProperty("key");
        return (response.Data.GetProperty("serviceAccount").GetProperty("id").GetString()!, key.GetProperty("id").GetString()!, key.GetProperty("key").GetString()!);
    }

    /// <summary>The <c>field: reason</c> pairs of a 422.</summary>
    public static string[] FieldErrors(this ApiResponse response) =>
        [.. response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => $"{f.GetProperty("field").GetString()}: {f.GetProperty("reason").GetString()}")];

    /// <summary>How many audit events of <paramref name="action"/> (on <paramref name="targetId"/>, when given) the organization's trail holds.</summary>
    public static async Task<long> AuditCountAsync(this GatehouseServer server, string orgId, string action, string? targetId = null)
    {
        var page = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=1&action={action}" + (targetId is null ? "" : $"&targetId={targetId}"));
        page.StatusCode.ShouldBe(200, page.Text);
        return page.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64();
    }
}
