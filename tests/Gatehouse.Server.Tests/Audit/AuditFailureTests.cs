using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>With the audit store failing, every mutation answers 503 and nothing is committed.</summary>
public sealed class AuditFailureTests
{
    private sealed class FailingAuditStore : IChangeSetParticipant
    {
        public volatile bool Failing;

        public Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken) =>
            Failing ? throw new DatabaseUnavailableException("audit store down (test)") : Task.CompletedTask;
    }

    [Fact]
    public async Task Mutations_answer_503_and_change_nothing_when_the_audit_write_fails()
    {
        var store = new FailingAuditStore();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Services = s => s.AddSingleton<IChangeSetParticipant>(store) });
        var orgId = await server.CreateOrgAsync("Before");
        var roleId = (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "keep", permissions = new[] { "a:b" } })).Str("id");
        var webhook = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/x", events = new[] { "*" } });
        var webhookId = webhook.Str("id");
        var auditBefore = (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64();
        var orgsBefore = (await server.Root.GetAsync("/api/v1/orgs")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64();
        store.Failing = true;

        var responses = new[]
        {
            await server.Root.PostAsync("/api/v1/orgs", new { name = "Never" }),
            await server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "After" }),
            await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}"),
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "never", permissions = new[] { "a:b" } }),
            await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { description = "changed" }),
            await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/roles/{roleId}"),
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/y", events = new[] { "*" } }),
            await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}", new { enabled = false }),
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret", new { gracePeriodSeconds = 60 }),
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/test"),
            await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}"),
        };

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(503, response.Text);
            response.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");
        }

        store.Failing = false;
        (await server.Root.GetAsync("/api/v1/orgs")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(orgsBefore);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Str("name").ShouldBe("Before");
        var roles = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles");
        roles.Data.GetArrayLength().ShouldBe(1);
        roles.Data[0].GetProperty("description").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        var hook = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}");
        hook.StatusCode.ShouldBe(200);
        hook.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        hook.Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        hook.Data.GetProperty("updatedAt").GetString().ShouldBe(webhook.Data.GetProperty("updatedAt").GetString());
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks")).Data.GetArrayLength().ShouldBe(1);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries")).Data.GetArrayLength().ShouldBe(0);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(auditBefore);
        var verify = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs/verify");
        verify.Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
    }
}
