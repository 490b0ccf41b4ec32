namespace Gatehouse.Server.Tests.Orgs;

public sealed class OrgLifecycleTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Patch_changes_only_the_given_fields()
    {
        var orgId = await _server.CreateOrgAsync("Before");

        var response = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "After", settings = new { keyPrefix = "acme" } });

        response.StatusCode.ShouldBe(200, response.Text);
        response.Str("name").ShouldBe("After");
        response.Data.GetProperty("settings").GetProperty("keyPrefix").GetString().ShouldBe("acme");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Str("name").ShouldBe("After");
    }

    [Fact]
    public async Task Patch_with_an_invalid_field_is_422_and_changes_nothing()
    {
        var orgId = await _server.CreateOrgAsync("Keep");

        var response = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "", slug = "-bad-" });

        response.StatusCode.ShouldBe(422);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Str("name").ShouldBe("Keep");
    }

    [Fact]
    public async Task Patch_to_a_taken_slug_is_409()
    {
        var first = await _server.Root.PostAsync("/api/v1/orgs", new { name = "A", slug = "slug-a-" + Guid.NewGuid().ToString("N")[..6] });
        var secondId = await _server.CreateOrgAsync();

        var response = await _server.Root.PatchAsync($"/api/v1/orgs/{secondId}", new { slug = first.Str("slug") });

        response.StatusCode.ShouldBe(409);
    }

    [Fact]
    public async Task Delete_tombstones_the_org_and_a_second_delete_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "reader", permissions = new[] { "orgs:read" } });

        var deleted = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}");

        deleted.StatusCode.ShouldBe(200, deleted.Text);
        deleted.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles")).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(404);
    }

    [Theory]
    [InlineData("org_00000000000000000000000000")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("org_%27%20OR%201%3D1--")]
    public async Task Unknown_or_malformed_ids_are_404_never_500(string orgId)
    {
        foreach (var path in new[] { $"/api/v1/orgs/{orgId}", $"/api/v1/orgs/{orgId}/stats", $"/api/v1/orgs/{orgId}/roles" })
        {
            var response = await _server.Root.GetAsync(path);
            response.StatusCode.ShouldBe(404, path);
            response.ErrorCode.ShouldBe("NOT_FOUND");
        }
    }

    [Fact]
    public async Task Stats_count_what_the_org_holds()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "a", permissions = new[] { "x" } });
        await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "b", permissions = new[] { "y" } });

        var stats = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats");

        stats.StatusCode.ShouldBe(200, stats.Text);
        stats.Data.GetProperty("roles").GetInt64().ShouldBe(2);
        stats.Data.GetProperty("apiKeys").GetInt64().ShouldBe(0);
        stats.Data.TryGetProperty("verifications", out _).ShouldBeTrue();
    }

    [Fact]
    public async Task List_pages_with_limit_offset_and_page()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 5; i++)
        {
            await _server.CreateOrgAsync($"Paged {tag} {i}");
        }

        var first = await _server.Root.GetAsync($"/api/v1/orgs?q={tag}&limit=2&sort=createdAt");
        var third = await _server.Root.GetAsync($"/api/v1/orgs?q={tag}&limit=2&page=3&sort=createdAt");

        first.Data.GetArrayLength().ShouldBe(2);
        first.Data[0].GetProperty("name").GetString().ShouldBe($"Paged {tag} 0");
        var pagination = first.Body.GetProperty("meta").GetProperty("pagination");
        pagination.GetProperty("total").GetInt64().ShouldBe(5);
        pagination.GetProperty("hasMore").GetBoolean().ShouldBeTrue();
        third.Data.GetArrayLength().ShouldBe(1);
        third.Data[0].GetProperty("name").GetString().ShouldBe($"Paged {tag} 4");
        third.Body.GetProperty("meta").GetProperty("pagination").GetProperty("hasMore").GetBoolean().ShouldBeFalse();
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=201")]
    [InlineData("limit=abc")]
    [InlineData("offset=-1")]
    [InlineData("page=0")]
    [InlineData("sort=name")]
    [InlineData("start=yesterday")]
    [InlineData("start=2026-11-22T00:00:00Z&end=2026-11-21T00:00:00Z")]
    public async Task Bad_list_parameters_are_400_not_clamped(string query)
    {
        var response = await _server.Root.GetAsync("/api/v1/orgs?" + query);

        response.StatusCode.ShouldBe(400, query);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
    }
}
