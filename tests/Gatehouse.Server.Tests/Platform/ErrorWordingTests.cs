using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// The caller's own key is an "API key" in every authentication and permission error: "credential"
/// is the vault's word (a third-party secret), and mixing the two sends people to the wrong page.
/// </summary>
public sealed class ErrorWordingTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Authentication_and_permission_errors_call_the_callers_key_an_API_key()
    {
        var orgId = await _server.CreateOrgAsync();
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");

        var missing = await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        var unknown = await _server.CreateClient("gk_notarealkeyatall").GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        var oversized = await _server.CreateClient(new string('a', 600)).GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        var lacking = await reader.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k" });

        missing.StatusCode.ShouldBe(401);
        Message(missing).ShouldBe("An API key is required: send Authorization: Bearer <key> or X-API-Key: <key>.");
        unknown.StatusCode.ShouldBe(401);
        Message(unknown).ShouldBe("The API key is not valid.");
        oversized.StatusCode.ShouldBe(401);
        Message(oversized).ShouldBe("The API key is malformed.");
        lacking.StatusCode.ShouldBe(403);
        Message(lacking).ShouldBe("The API key lacks the permission 'api_keys:write'.");
        foreach (var response in new[] { missing, unknown, oversized, lacking })
        {
            Message(response).ShouldNotContain("credential", Case.Insensitive);
        }
    }

    private static string Message(ApiResponse response) => response.Body.GetProperty("error").GetProperty("message").GetString()!;
}
