using System.Text.Json;
using Gatehouse.Contracts.Webhooks;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>How the server shows webhook endpoints and deliveries; the shapes themselves are in the contracts.</summary>
internal static class WebhookViewMapping
{
    extension(WebhookView)
    {
        public static WebhookView From(WebhookEndpoint w, DateTime now) => new(
            w.Id, w.OrgId, w.Url, w.Description, w.Events, w.Enabled, w.DisabledReason,
            w.PreviousSecretUntil > now ? w.PreviousSecretUntil : null, w.FailingSince, w.CreatedAt, w.UpdatedAt);
    }

    extension(WebhookWithSecretView)
    {
        public static WebhookWithSecretView From(WebhookEndpoint w, DateTime now, string secret)
        {
            var v = WebhookView.From(w, now);
            return new(v.Id, v.OrgId, v.Url, v.Description, v.Events, v.Enabled, v.DisabledReason, v.PreviousSecretExpiresAt, v.FailingSince, v.CreatedAt, v.UpdatedAt, secret);
        }
    }

    extension(WebhookAttemptView)
    {
        public static WebhookAttemptView From(WebhookAttempt a) => new(a.Attempt, a.AttemptedAt, a.StatusCode, a.LatencyMs, a.ResponseExcerpt, a.Error, a.Succeeded);
    }

    extension(WebhookDeliveryView)
    {
        public static WebhookDeliveryView From(WebhookDelivery d, IEnumerable<WebhookAttempt> attempts) => new(
            d.Id, d.EndpointId, d.EventId, d.EventType, d.Status, d.Attempts, d.NextAttemptAt, d.LastStatusCode, d.LastAttemptAt, d.CreatedAt,
            JsonDocument.Parse(d.Payload).RootElement.Clone(), [.. attempts.OrderBy(a => a.Attempt).Select(WebhookAttemptView.From)]);
    }
}
