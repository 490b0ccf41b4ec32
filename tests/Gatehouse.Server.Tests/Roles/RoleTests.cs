namespace Gatehouse.Server.Tests.Roles;

public sealed class RoleTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_role_is_created_read_updated_listed_and_deleted()
    {
        var orgId = await _server.CreateOrgAsync();
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "billing.admin", description = "Billing", permissions = new[] { "billing:*", "orgs:read" } });
        created.StatusCode.ShouldBe(201, created.Text);
        var roleId = created.Str("id");
        roleId.ShouldStartWith("role_");

        var updated = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { permissions = new[] { "billing:read" } });
        updated.StatusCode.ShouldBe(200);
        updated.Data.GetProperty("permissions").Strings().ShouldBe(["billing:read"]);
        updated.Str("description").ShouldBe("Billing");

        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles");
        list.Data.GetArrayLength().ShouldBe(1);

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/roles/{roleId}")).StatusCode.ShouldBe(200);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles/{roleId}")).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/roles/{roleId}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task A_duplicate_name_is_409()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "dup", permissions = Array.Empty<string>() });

        var again = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "dup", permissions = Array.Empty<string>() });

        again.StatusCode.ShouldBe(409);
    }

    [Fact]
    public async Task Malformed_permissions_and_missing_fields_are_422()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "bad name!", permissions = new[] { "OK", "fine:read" } });

        response.StatusCode.ShouldBe(422);
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe(["name", "permissions[0]"], ignoreOrder: true);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_role_of_another_org_is_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgB}/roles", new { name = "b-role", permissions = new[] { "x" } });
        var roleId = role.Str("id");

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgA}/roles/{roleId}")).StatusCode.ShouldBe(404);
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgA}/roles/{roleId}", new { name = "stolen" })).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgA}/roles/{roleId}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/roles/{roleId}")).Str("name").ShouldBe("b-role");
    }
}
