using System.Text.Json;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>A webhook endpoint (never its secret).</summary>
public sealed record WebhookView(
    string Id, string OrgId, string Url, string? Description, IReadOnlyList<string> Events, bool Enabled,
    string? DisabledReason, DateTime? PreviousSecretExpiresAt, DateTime? FailingSince, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static WebhookView From(WebhookEndpoint w, DateTime now) => new(
        w.Id, w.OrgId, w.Url, w.Description, w.Events, w.Enabled, w.DisabledReason,
        w.PreviousSecretUntil > now ? w.PreviousSecretUntil : null, w.FailingSince, w.CreatedAt, w.UpdatedAt);
}

/// <summary>A webhook endpoint with its signing secret (<c>whsec_…</c>), returned once by create and rotate-secret.</summary>
public sealed record WebhookWithSecretView(
    string Id, string OrgId, string Url, string? Description, IReadOnlyList<string> Events, bool Enabled,
    string? DisabledReason, DateTime? PreviousSecretExpiresAt, DateTime? FailingSince, DateTime CreatedAt, DateTime UpdatedAt, string Secret)
{
    public static WebhookWithSecretView From(WebhookEndpoint w, DateTime now, string secret)
    {
        var v = WebhookView.From(w, now);
        return new(v.Id, v.OrgId, v.Url, v.Description, v.Events, v.Enabled, v.DisabledReason, v.PreviousSecretExpiresAt, v.FailingSince, v.CreatedAt, v.UpdatedAt, secret);
    }
}

/// <summary>One HTTP attempt: when, the status (null when no response), latency, and up to 1 KB of the response body.</summary>
public sealed record WebhookAttemptView(int Attempt, DateTime AttemptedAt, int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error, bool Succeeded)
{
    public static WebhookAttemptView From(WebhookAttempt a) => new(a.Attempt, a.AttemptedAt, a.StatusCode, a.LatencyMs, a.ResponseExcerpt, a.Error, a.Succeeded);
}

/// <summary>
/// One event sent to one endpoint: <c>status</c> is <c>pending</c>, <c>succeeded</c>, <c>failed</c> (retries
/// exhausted) or <c>canceled</c> (the endpoint was disabled); <c>payload</c> is the exact body sent.
/// </summary>
public sealed record WebhookDeliveryView(
    string Id, string WebhookId, string EventId, string EventType, string Status, int AttemptCount,
    DateTime? NextAttemptAt, int? LastStatusCode, DateTime? LastAttemptAt, DateTime CreatedAt,
    JsonElement Payload, IReadOnlyList<WebhookAttemptView> Attempts)
{
    public static WebhookDeliveryView From(WebhookDelivery d, IEnumerable<WebhookAttempt> attempts) => new(
        d.Id, d.EndpointId, d.EventId, d.EventType, d.Status, d.Attempts, d.NextAttemptAt, d.LastStatusCode, d.LastAttemptAt, d.CreatedAt,
        JsonDocument.Parse(d.Payload).RootElement.Clone(), [.. attempts.OrderBy(a => a.Attempt).Select(WebhookAttemptView.From)]);
}
