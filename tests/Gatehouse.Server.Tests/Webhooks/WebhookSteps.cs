using System.Text.Json;

namespace Gatehouse.Server.Tests.Webhooks;

/// <summary>Steps the webhook tests share.</summary>
public static class WebhookSteps
{
    public static async Task<(string Id, string Secret)> CreateWebhookAsync(this GatehouseServer server, string orgId, string url, params string[] events)
    {
        var response = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url, events });
        response.StatusCode.ShouldBe(201, response.Text);
        return (response.Str("id"), response.Str("secret"));
    }

    public static async Task<List<JsonElement>> DeliveriesAsync(this GatehouseServer server, string orgId, string webhookId)
    {
        var response = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries?sort=createdAt&limit=200");
        response.StatusCode.ShouldBe(200, response.Text);
        return [.. response.Data.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>Polls the deliveries route (real time, bounded) until <paramref name="done"/> holds.</summary>
    public static Task<List<JsonElement>> WaitForDeliveriesAsync(
        this GatehouseServer server, string orgId, string webhookId, Func<List<JsonElement>, bool> done, TimeSpan? timeout = null) =>
        Eventually.ValueAsync(() => server.DeliveriesAsync(orgId, webhookId), done,
            $"the deliveries of webhook {webhookId} to reach the expected state", timeout, deliveries => string.Join('\n', deliveries));

    public static int AttemptCount(this JsonElement delivery) => delivery.GetProperty("attemptCount").GetInt32();

    public static DateTimeOffset Time(this JsonElement element, string property) =>
        DateTimeOffset.Parse(element.GetProperty(property).GetString()!, System.Globalization.CultureInfo.InvariantCulture);
}
