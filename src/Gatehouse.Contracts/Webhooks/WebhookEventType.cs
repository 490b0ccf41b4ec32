namespace Gatehouse.Contracts.Webhooks;

/// <summary>One webhook event type and what causes it.</summary>
public sealed record WebhookEventType(string Type, string Description);
