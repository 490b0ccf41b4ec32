using System.Text.Json;

namespace Gatehouse.Server.Tests.Orgs;

/// <summary>
/// <c>/admin/tenants/{tenantId}</c>: the root's view of an organization by id or slug, answered by
/// the organization routes' own handlers (same views, errors and audit events).
/// </summary>
public sealed class TenantRoutesTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private async Task<(string Id, string Slug)> CreateTenantAsync()
    {
        var slug = "tenant-" + Guid.NewGuid().ToString("N")[..10];
        var created = await _server.Root.PostAsync("/api/v1/orgs", new { name = "Tenant", slug });
        created.StatusCode.ShouldBe(201, created.Text);
        return (created.Str("id"), slug);
    }

    private async Task<JsonElement> AuditEventAsync(string orgId, string action)
    {
        var audit = await _server.Root.GetAsync($"/api/v1/admin/audit-logs?orgId={orgId}&action={action}&limit=200");
        audit.StatusCode.ShouldBe(200, audit.Text);
        return audit.Data.EnumerateArray().Single();
    }

    [Fact]
    public async Task Get_by_id_and_by_slug_answers_the_org_routes_view()
    {
        var (id, slug) = await CreateTenantAsync();

        var byOrgRoute = await _server.Root.GetAsync($"/api/v1/orgs/{id}");
        var byId = await _server.Root.GetAsync($"/api/v1/admin/tenants/{id}");
        var bySlug = await _server.Root.GetAsync($"/api/v1/admin/tenants/{slug}");

        byId.StatusCode.ShouldBe(200, byId.Text);
        bySlug.StatusCode.ShouldBe(200, bySlug.Text);
        byId.Data.GetRawText().ShouldBe(byOrgRoute.Data.GetRawText());
        bySlug.Data.GetRawText().ShouldBe(byOrgRoute.Data.GetRawText());
    }

    [Fact]
    public async Task Stats_by_id_and_by_slug_answer_the_org_routes_stats()
    {
        var (id, slug) = await CreateTenantAsync();

        var byOrgRoute = await _server.Root.GetAsync($"/api/v1/orgs/{id}/stats");
        var byId = await _server.Root.GetAsync($"/api/v1/admin/tenants/{id}/stats");
        var bySlug = await _server.Root.GetAsync($"/api/v1/admin/tenants/{slug}/stats");

        byId.StatusCode.ShouldBe(200, byId.Text);
        bySlug.StatusCode.ShouldBe(200, bySlug.Text);
        bySlug.Str("orgId").ShouldBe(id);
        byId.Data.GetRawText().ShouldBe(byOrgRoute.Data.GetRawText());
        bySlug.Data.GetRawText().ShouldBe(byOrgRoute.Data.GetRawText());
    }

    [Fact]
    public async Task Patch_by_slug_and_by_id_changes_the_org_and_audits_it_as_the_org_route_does()
    {
        var (id, slug) = await CreateTenantAsync();
        var (twinId, _) = await CreateTenantAsync();

        var bySlug = await _server.Root.PatchAsync($"/api/v1/admin/tenants/{slug}", new { name = "Renamed" });
        var twin = await _server.Root.PatchAsync($"/api/v1/orgs/{twinId}", new { name = "Renamed" });

        bySlug.StatusCode.ShouldBe(200, bySlug.Text);
        bySlug.Str("name").ShouldBe("Renamed");
        (await _server.Root.GetAsync($"/api/v1/orgs/{id}")).Str("name").ShouldBe("Renamed");
        twin.StatusCode.ShouldBe(200, twin.Text);
        var tenantEvent = await AuditEventAsync(id, "org.update");
        var orgEvent = await AuditEventAsync(twinId, "org.update");
        tenantEvent.GetProperty("target").GetProperty("type").GetString().ShouldBe(orgEvent.GetProperty("target").GetProperty("type").GetString());
        tenantEvent.GetProperty("target").GetProperty("id").GetString().ShouldBe(id);
        tenantEvent.GetProperty("changes").GetRawText().ShouldBe(orgEvent.GetProperty("changes").GetRawText());
        tenantEvent.GetProperty("actor").GetRawText().ShouldBe(orgEvent.GetProperty("actor").GetRawText());

        var byId = await _server.Root.PatchAsync($"/api/v1/admin/tenants/{id}", new { slug = slug + "-b" });
        byId.StatusCode.ShouldBe(200, byId.Text);
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{slug}-b")).Str("id").ShouldBe(id);
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{slug}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Patch_errors_are_the_org_routes_422_and_409()
    {
        var (id, slug) = await CreateTenantAsync();
        var (_, takenSlug) = await CreateTenantAsync();

        var invalid = await _server.Root.PatchAsync($"/api/v1/admin/tenants/{slug}", new { name = "" });
        invalid.StatusCode.ShouldBe(422, invalid.Text);
        var taken = await _server.Root.PatchAsync($"/api/v1/admin/tenants/{id}", new { slug = takenSlug });
        taken.StatusCode.ShouldBe(409, taken.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{id}")).Str("slug").ShouldBe(slug);
    }

    [Fact]
    public async Task Delete_by_slug_erases_the_org_and_audits_it_as_the_org_route_does()
    {
        var (id, slug) = await CreateTenantAsync();
        var (twinId, _) = await CreateTenantAsync();

        var deleted = await _server.Root.DeleteAsync($"/api/v1/admin/tenants/{slug}");
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{twinId}")).StatusCode.ShouldBe(200);

        deleted.StatusCode.ShouldBe(200, deleted.Text);
        deleted.Str("id").ShouldBe(id);
        (await _server.Root.GetAsync($"/api/v1/orgs/{id}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{slug}")).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(404);
        var tenantEvent = await AuditEventAsync(id, "org.delete");
        var orgEvent = await AuditEventAsync(twinId, "org.delete");
        tenantEvent.GetProperty("target").GetProperty("type").GetString().ShouldBe(orgEvent.GetProperty("target").GetProperty("type").GetString());
        tenantEvent.GetProperty("target").GetProperty("id").GetString().ShouldBe(id);
        tenantEvent.GetProperty("changes").GetRawText().ShouldBe(orgEvent.GetProperty("changes").GetRawText());
    }

    [Fact]
    public async Task Delete_by_id_works_too()
    {
        var (id, _) = await CreateTenantAsync();

        (await _server.Root.DeleteAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(200);

        (await _server.Root.GetAsync($"/api/v1/orgs/{id}")).StatusCode.ShouldBe(404);
    }

    [Theory]
    [InlineData("org_01KAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("no-such-tenant-slug")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    public async Task An_unknown_tenant_is_404_on_every_route(string tenantId)
    {
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{tenantId}")).StatusCode.ShouldBe(404);
        (await _server.Root.GetAsync($"/api/v1/admin/tenants/{tenantId}/stats")).StatusCode.ShouldBe(404);
        (await _server.Root.PatchAsync($"/api/v1/admin/tenants/{tenantId}", new { name = "x" })).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/admin/tenants/{tenantId}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task An_org_credential_is_403_even_for_its_own_org_and_changes_nothing()
    {
        var (id, slug) = await CreateTenantAsync();
        var own = await ApiKeys.KeyScenario.OrgClientAsync(_server, id, "*");

        (await own.GetAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(403);
        (await own.GetAsync($"/api/v1/admin/tenants/{slug}/stats")).StatusCode.ShouldBe(403);
        (await own.PatchAsync($"/api/v1/admin/tenants/{slug}", new { name = "Hijacked" })).StatusCode.ShouldBe(403);
        (await own.DeleteAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(403);
        (await _server.Anonymous.GetAsync($"/api/v1/admin/tenants/{id}")).StatusCode.ShouldBe(401);
        var org = await _server.Root.GetAsync($"/api/v1/orgs/{id}");
        org.StatusCode.ShouldBe(200);
        org.Str("name").ShouldBe("Tenant");
    }
}
