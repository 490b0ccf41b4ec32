using System.Text.Json;

namespace Gatehouse.Contracts.Webhooks;

/// <summary>A webhook endpoint (never its secret).</summary>
public sealed record WebhookView(
    string Id, string OrgId, string Url, string? Description, IReadOnlyList<string> Events, bool Enabled,
    string? DisabledReason, DateTime? PreviousSecretExpiresAt, DateTime? FailingSince, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A webhook endpoint with its signing secret (<c>whsec_…</c>), returned once by create and rotate-secret.</summary>
public sealed record WebhookWithSecretView(
    string Id, string OrgId, string Url, string? Description, IReadOnlyList<string> Events, bool Enabled,
    string? DisabledReason, DateTime? PreviousSecretExpiresAt, DateTime? FailingSince, DateTime CreatedAt, DateTime UpdatedAt, string Secret);

/// <summary>One HTTP attempt: when, the status (null when no response), latency, and up to 1 KB of the response body.</summary>
public sealed record WebhookAttemptView(int Attempt, DateTime AttemptedAt, int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error, bool Succeeded);

/// <summary>
/// One event sent to one endpoint: <c>status</c> is <c>pending</c>, <c>succeeded</c>, <c>failed</c> (retries
/// exhausted) or <c>canceled</c> (the endpoint was disabled); <c>payload</c> is the exact body sent.
/// </summary>
public sealed record WebhookDeliveryView(
    string Id, string WebhookId, string EventId, string EventType, string Status, int AttemptCount,
    DateTime? NextAttemptAt, int? LastStatusCode, DateTime? LastAttemptAt, DateTime CreatedAt,
    JsonElement Payload, IReadOnlyList<WebhookAttemptView> Attempts);
