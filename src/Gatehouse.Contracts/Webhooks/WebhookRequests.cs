using System.ComponentModel.DataAnnotations;
namespace Gatehouse.Contracts.Webhooks;

/// <summary>Register a webhook endpoint.</summary>
public sealed record CreateWebhookRequest
{
    /// <summary>https URL receiving the events (http and private addresses only when the server allows insecure webhooks).</summary>
    [Required, StringLength(2048, MinimumLength = 1)]
    public string? Url { get; init; }

    /// <summary>Event types (see <c>GET /api/v1/webhook-events</c>), <c>resource.*</c>, or <c>*</c>.</summary>
    [Required]
    public List<string>? Events { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>Default true.</summary>
    public bool? Enabled { get; init; }
}

/// <summary>Fields to change; absent fields stay. Enabling a disabled endpoint clears its failure record.</summary>
public sealed record UpdateWebhookRequest
{
    /// <summary>https URL receiving the events.</summary>
    [StringLength(2048, MinimumLength = 1)]
    public string? Url { get; init; }

    public List<string>? Events { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    public bool? Enabled { get; init; }
}

/// <summary>Rotate the signing secret; the old one keeps signing (a second signature) for the grace period.</summary>
public sealed record RotateWebhookSecretRequest
{
    /// <summary>0 (default) to 604800 seconds.</summary>
    public int? GracePeriodSeconds { get; init; }
}
