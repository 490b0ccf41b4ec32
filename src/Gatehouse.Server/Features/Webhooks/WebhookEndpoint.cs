using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// A registered receiver of an organization's events. The signing secret must be usable to sign,
/// so it is sealed with the master key (bound to the endpoint id), never hashed; during a
/// rotation's grace period the previous secret signs too.
/// </summary>
public sealed class WebhookEndpoint : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Url { get; set; }
    public string? Description { get; set; }
    public List<string> Events { get; set; } = [];
    public bool Enabled { get; set; } = true;

    /// <summary>Why the platform disabled it (<c>failing</c>); null when enabled or disabled by a user.</summary>
    public string? DisabledReason { get; set; }

    public required byte[] SealedSecret { get; set; }
    public byte[]? PreviousSealedSecret { get; set; }
    public DateTime? PreviousSecretUntil { get; set; }

    /// <summary>Start of the current run of failed attempts; cleared by a success.</summary>
    public DateTime? FailingSince { get; set; }

    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }

    public bool Subscribes(string eventType) => WebhookEventCatalog.Matches(Events, eventType);
}

/// <summary>
/// One event for one endpoint: the outbox row. It is written in the transaction of the change
/// that caused it and carries the exact body that is signed and sent on every attempt.
/// </summary>
public sealed class WebhookDelivery : ICreatedEntity, IOrgOwned
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string EndpointId { get; init; }
    public required string EventId { get; init; }
    public required string EventType { get; init; }
    public required string Payload { get; init; }
    public string Status { get; set; } = Pending;
    public int Attempts { get; set; }
    public DateTime? NextAttemptAt { get; set; }

    /// <summary>End of a dispatcher's claim lease (any node); renewed while it sends, free again once passed.</summary>
    public DateTime? LockedUntil { get; set; }

    /// <summary>The random token of the claim that holds the delivery; a result is recorded only while it is still in place.</summary>
    public string? ClaimToken { get; set; }

    public int? LastStatusCode { get; set; }
    public DateTime? LastAttemptAt { get; set; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>One HTTP attempt of a delivery, as the deliveries route shows it.</summary>
public sealed class WebhookAttempt
{
    public required string Id { get; init; }
    public required string DeliveryId { get; init; }
    public required string EndpointId { get; init; }
    public int Attempt { get; init; }
    public DateTime AttemptedAt { get; init; }
    public int? StatusCode { get; init; }
    public int LatencyMs { get; init; }
    public string? ResponseExcerpt { get; init; }
    public string? Error { get; init; }
    public bool Succeeded { get; init; }
}

internal sealed class WebhookEndpointMapping : IEntityTypeConfiguration<WebhookEndpoint>
{
    public void Configure(EntityTypeBuilder<WebhookEndpoint> builder)
    {
        builder.ToTable("webhook_endpoints");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Events).HasJsonConversion();
    }
}

internal sealed class WebhookDeliveryMapping : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> builder)
    {
        builder.ToTable("webhook_deliveries");
        builder.HasKey(e => e.Id);
    }
}

internal sealed class WebhookAttemptMapping : IEntityTypeConfiguration<WebhookAttempt>
{
    public void Configure(EntityTypeBuilder<WebhookAttempt> builder)
    {
        builder.ToTable("webhook_attempts");
        builder.HasKey(e => e.Id);
    }
}
