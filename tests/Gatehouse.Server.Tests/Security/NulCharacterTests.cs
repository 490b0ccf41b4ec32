namespace Gatehouse.Server.Tests.Security;

/// <summary>
/// PostgreSQL text cannot hold U+0000: a name or a filter carrying it once failed there as a 500
/// (found by the bad-input campaign). It is refused as input on every provider, and nothing is stored.
/// </summary>
public sealed class NulCharacterTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_string_with_a_nul_character_is_400_and_creates_nothing()
    {
        var marker = "nul" + Guid.NewGuid().ToString("N")[..10];
        var org = await _server.Root.PostAsync("/api/v1/orgs", new { name = marker + "\u0000org" });
        org.StatusCode.ShouldBe(400, org.Text);
        org.ErrorCode.ShouldBe("INVALID_REQUEST");
        var orgId = await _server.CreateOrgAsync();
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "r", permissions = new[] { "a\u0000b" } });
        role.StatusCode.ShouldBe(400, role.Text);

        (await _server.Root.GetAsync($"/api/v1/orgs?q={marker}")).Data.GetArrayLength().ShouldBe(0);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_query_filter_with_a_nul_character_is_400_naming_it()
    {
        var orgId = await _server.CreateOrgAsync();
        var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?q=a%00b");
        response.StatusCode.ShouldBe(400, response.Text);
        var field = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0];
        field.GetProperty("field").GetString().ShouldBe("q");
        field.GetProperty("reason").GetString().ShouldBe("invalid");
    }
}
