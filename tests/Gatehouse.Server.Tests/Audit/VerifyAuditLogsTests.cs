using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Audit;

public sealed class VerifyAuditLogsTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private async Task<(string OrgId, List<string> EventIds)> OrgWithHistoryAsync()
    {
        var orgId = await _server.CreateOrgAsync();
        for (var i = 0; i < 4; i++)
        {
            (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"role{i}", permissions = new[] { "a:b" } })).StatusCode.ShouldBe(201);
        }

        var events = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?sort=createdAt");
        return (orgId, [.. events.Data.EnumerateArray().Select(e => e.GetProperty("id").GetString()!)]);
    }

    private async Task ExecuteSqlAsync(string sql, params object[] parameters)
    {
        using var scope = _server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await db.Database.ExecuteSqlRawAsync(sql, parameters);
    }

    private async Task<System.Text.Json.JsonElement> VerifyAsync(string orgId)
    {
        var response = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs/verify");
        response.StatusCode.ShouldBe(200, response.Text);
        return response.Data;
    }

    [Fact]
    public async Task An_untouched_chain_is_valid_and_every_event_is_checked()
    {
        var (orgId, ids) = await OrgWithHistoryAsync();

        var result = await VerifyAsync(orgId);

        result.GetProperty("valid").GetBoolean().ShouldBeTrue();
        result.GetProperty("checked").GetInt64().ShouldBe(ids.Count);
        result.GetProperty("firstBrokenId").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task A_row_edited_in_the_database_is_named_as_the_first_broken_event()
    {
        var (orgId, ids) = await OrgWithHistoryAsync();

        await ExecuteSqlAsync("UPDATE audit_events SET changes = {1} WHERE id = {0}", ids[2], "{\"name\":\"forged\"}");

        var result = await VerifyAsync(orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("firstBrokenId").GetString().ShouldBe(ids[2]);
        result.GetProperty("checked").GetInt64().ShouldBe(3);
    }

    [Fact]
    public async Task An_edit_with_a_recomputed_hash_breaks_the_link_to_the_next_event()
    {
        var (orgId, ids) = await OrgWithHistoryAsync();

        await ExecuteSqlAsync("UPDATE audit_events SET action = 'role.forged', hash = {1} WHERE id = {0}", ids[1], new string('a', 64));

        var result = await VerifyAsync(orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("firstBrokenId").GetString().ShouldBe(ids[1]);
    }

    [Fact]
    public async Task A_deleted_row_is_detected_at_the_event_after_it()
    {
        var (orgId, ids) = await OrgWithHistoryAsync();

        await ExecuteSqlAsync("DELETE FROM audit_events WHERE id = {0}", ids[1]);

        var result = await VerifyAsync(orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeFalse();
        result.GetProperty("firstBrokenId").GetString().ShouldBe(ids[2]);
    }

    [Fact]
    public async Task Concurrent_writers_of_one_organization_do_not_fork_the_chain()
    {
        var orgId = await _server.CreateOrgAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = $"parallel{i}", permissions = new[] { "a:b" } })));

        responses.ShouldAllBe(r => r.StatusCode == 201);
        var result = await VerifyAsync(orgId);
        result.GetProperty("valid").GetBoolean().ShouldBeTrue();
        result.GetProperty("checked").GetInt64().ShouldBe(17);
        var seqs = (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200")).Data.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).Order();
        seqs.ShouldBe(Enumerable.Range(1, 17).Select(i => (long)i));
    }

    [Fact]
    public async Task Verify_of_an_unknown_organization_is_404_and_without_a_credential_401()
    {
        (await _server.Root.GetAsync("/api/v1/orgs/org_01KAAAAAAAAAAAAAAAAAAAAAAA/audit-logs/verify")).StatusCode.ShouldBe(404);
        var orgId = await _server.CreateOrgAsync();
        var anonymous = await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/audit-logs/verify");
        anonymous.StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Root_verifies_the_platform_chain()
    {
        await _server.CreateClient("gk_notavalidkey").GetAsync("/api/v1/orgs");

        var response = await _server.Root.GetAsync("/api/v1/admin/audit-logs/verify?orgId=platform");

        response.StatusCode.ShouldBe(200);
        response.Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
        response.Data.GetProperty("checked").GetInt64().ShouldBeGreaterThan(0);
    }
}
