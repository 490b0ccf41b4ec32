using System.Text.Json;

namespace Gatehouse.Server.Tests.Audit;

public sealed class ListAuditLogsTests(KeyedServer keyed) : IClassFixture<KeyedServer>
{
    private readonly GatehouseServer _server = keyed.Server;

    private async Task<(string OrgId, string RoleId)> OrgWithHistoryAsync()
    {
        var orgId = await _server.CreateOrgAsync();
        var roleId = (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "first", permissions = new[] { "a:b" } })).Str("id");
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { description = "d" });
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "second", permissions = new[] { "a:b" } });
        await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "Renamed" });
        return (orgId, roleId);
    }

    private static string[] Actions(ApiResponse response) => [.. response.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()!)];

    [Fact]
    public async Task Events_are_listed_newest_first_with_pagination()
    {
        var (orgId, _) = await OrgWithHistoryAsync();

        var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=2");

        response.StatusCode.ShouldBe(200);
        Actions(response).ShouldBe(["org.update", "role.create"]);
        var pagination = response.Body.GetProperty("meta").GetProperty("pagination");
        pagination.GetProperty("total").GetInt64().ShouldBe(5);
        pagination.GetProperty("hasMore").GetBoolean().ShouldBeTrue();
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?sort=createdAt&page=3&limit=2")).ShouldBe(["org.update"]);
    }

    [Fact]
    public async Task Filters_select_by_action_actor_target_and_time()
    {
        var (orgId, roleId) = await OrgWithHistoryAsync();

        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=role.create")).ShouldBe(["role.create", "role.create"]);
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=role.*")).Length.ShouldBe(3);
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?targetId={roleId}&sort=createdAt")).ShouldBe(["role.create", "role.update"]);
        var all = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs");
        var actorId = all.Data[0].GetProperty("actor").GetProperty("id").GetString();
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?actorId={actorId}")).Length.ShouldBe(5);
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?actorId=rk_someone_else")).ShouldBeEmpty();
        var future = DateTime.UtcNow.AddHours(1).ToString("O");
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?start={Uri.EscapeDataString(future)}")).ShouldBeEmpty();
        Actions(await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?end={Uri.EscapeDataString(future)}")).Length.ShouldBe(5);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=201")]
    [InlineData("offset=-1")]
    [InlineData("start=yesterday")]
    [InlineData("sort=action")]
    public async Task A_bad_query_parameter_is_400(string query)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?{query}");

        response.StatusCode.ShouldBe(400);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task Accept_ndjson_streams_every_matching_event_one_per_line()
    {
        var (orgId, _) = await OrgWithHistoryAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/orgs/{orgId}/audit-logs?sort=createdAt&limit=1");
        request.Headers.Authorization = new("Bearer", GatehouseServer.RootKey);
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        using var response = await _server.Root.Http.SendAsync(request, TestContext.Current.CancellationToken);

        ((int)response.StatusCode).ShouldBe(200);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
        var lines = (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(5);
        lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("action").GetString()).ShouldBe(["org.create", "role.create", "role.update", "role.create", "org.update"]);
        JsonDocument.Parse(lines[0]).RootElement.GetProperty("orgId").GetString().ShouldBe(orgId);
    }

    [Fact]
    public async Task The_admin_route_lists_every_organization_and_filters_by_orgId()
    {
        var (orgA, _) = await OrgWithHistoryAsync();
        var orgB = await _server.CreateOrgAsync();

        var onlyB = await _server.Root.GetAsync($"/api/v1/admin/audit-logs?orgId={orgB}");
        onlyB.StatusCode.ShouldBe(200);
        Actions(onlyB).ShouldBe(["org.create"]);
        var both = await _server.Root.GetAsync("/api/v1/admin/audit-logs?action=org.create&limit=200");
        both.Data.EnumerateArray().Select(e => e.GetProperty("orgId").GetString()).ShouldContain(orgA);
        both.Data.EnumerateArray().Select(e => e.GetProperty("orgId").GetString()).ShouldContain(orgB);
    }

    [Fact]
    public async Task The_admin_route_is_root_only()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await (await keyed.ClientAsync(orgId, "*")).GetAsync("/api/v1/admin/audit-logs");

        response.StatusCode.ShouldBe(403);
        (await _server.Anonymous.GetAsync("/api/v1/admin/audit-logs")).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task An_org_key_needs_audit_read()
    {
        var orgId = await _server.CreateOrgAsync();

        var denied = await (await keyed.ClientAsync(orgId, "roles:read")).GetAsync($"/api/v1/orgs/{orgId}/audit-logs");
        var allowed = await (await keyed.ClientAsync(orgId, "audit:read")).GetAsync($"/api/v1/orgs/{orgId}/audit-logs");

        denied.StatusCode.ShouldBe(403);
        denied.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("audit:read");
        allowed.StatusCode.ShouldBe(200);
        // The trail so far: the org, and the two keys made for this test.
        Actions(allowed).ShouldBe(["api_key.create", "api_key.create", "org.create"], ignoreOrder: true);
    }

    [Fact]
    public async Task Another_organizations_trail_is_404()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var keyOfA = (await keyed.ClientAsync(orgA, "audit:read"));

        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/audit-logs")).StatusCode.ShouldBe(404);
        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/audit-logs/verify")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task An_org_key_is_the_recorded_actor()
    {
        var orgId = await _server.CreateOrgAsync();
        var key = (await keyed.ClientAsync(orgId, "roles:write", "audit:read"));

        await key.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "by-key", permissions = new[] { "a:b" } });

        var events = await key.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=role.create");
        events.Data[0].GetProperty("actor").GetProperty("type").GetString().ShouldBe("api_key");
        events.Data[0].GetProperty("actor").GetProperty("id").GetString()!.ShouldStartWith("key_");
    }
}
