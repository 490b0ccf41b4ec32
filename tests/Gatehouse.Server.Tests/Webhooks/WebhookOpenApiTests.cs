namespace Gatehouse.Server.Tests.Webhooks;

public sealed class WebhookOpenApiTests(SharedServer shared)
{
    [Fact]
    public async Task The_openapi_document_describes_every_audit_and_webhook_route()
    {
        var response = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");

        response.StatusCode.ShouldBe(200);
        var paths = response.Body.GetProperty("paths");
        foreach (var path in new[]
        {
            "/api/v1/orgs/{orgId}/audit-logs", "/api/v1/orgs/{orgId}/audit-logs/verify", "/api/v1/admin/audit-logs", "/api/v1/admin/audit-logs/verify",
            "/api/v1/orgs/{orgId}/webhooks", "/api/v1/orgs/{orgId}/webhooks/{webhookId}", "/api/v1/orgs/{orgId}/webhooks/{webhookId}/rotate-secret",
            "/api/v1/orgs/{orgId}/webhooks/{webhookId}/test", "/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries",
            "/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", "/api/v1/webhook-events",
        })
        {
            paths.TryGetProperty(path, out _).ShouldBeTrue(path);
        }

        response.Text.ShouldContain("application/x-ndjson");
        response.Text.ShouldContain("CreateWebhook");
    }
}
