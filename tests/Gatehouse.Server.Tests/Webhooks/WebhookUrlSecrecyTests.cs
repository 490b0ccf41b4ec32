namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>The path and query of a webhook URL often hold the receiver's token: they reach neither the logs nor the audit trail.</summary>
public sealed class WebhookUrlSecrecyTests
{
    private static readonly string[] Secrets = ["T0123", "B4567", "XXXXsecretXXXX", "token=abc", "T9876", "YYYYsecretYYYY", "token=def"];

    [Fact]
    public async Task Tokens_in_a_webhook_URL_appear_in_no_log_line_and_no_audit_event()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var (webhookId, _) = await server.CreateWebhookAsync(orgId, "https://hooks.example/T0123/B4567/XXXXsecretXXXX?token=abc", "*");

        // An event, so that a delivery is attempted (hooks.example does not resolve: the attempt fails and is logged).
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "trigger", permissions = new[] { "a:b" } });
        await server.WaitForDeliveriesAsync(orgId, webhookId, d => d.Count >= 1 && d[0].AttemptCount() >= 1);
        var updated = await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}", new { url = "https://hooks.example/T9876/B4567/YYYYsecretYYYY?token=def" });
        updated.StatusCode.ShouldBe(200, updated.Text);
        (await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}")).StatusCode.ShouldBe(200);

        var audit = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=100");
        audit.StatusCode.ShouldBe(200, audit.Text);
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("webhook.create");
        actions.ShouldContain("webhook.update");
        actions.ShouldContain("webhook.delete");
        audit.Text.ShouldContain("https://hooks.example/***/***/***?***");
        var logs = server.Logs.All;
        logs.ShouldContain("https://hooks.example");
        foreach (var secret in Secrets)
        {
            audit.Text.ShouldNotContain(secret);
            logs.ShouldNotContain(secret);
        }
    }
}
