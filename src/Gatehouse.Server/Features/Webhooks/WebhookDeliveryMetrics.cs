using Gatehouse.Server.Platform.Observability;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>The outbox as an operator watches it: deliveries waiting, and how attempts ended.</summary>
public sealed class WebhookDeliveryMetrics : IMetricsSource
{
    public const string Delivered = "delivered";
    public const string Retrying = "retrying";
    public const string Failed = "failed";

    private long _queueDepth;
    private long _delivered;
    private long _retrying;
    private long _failed;
    private long _claimsLost;

    /// <summary>Pending deliveries counted at the end of this node's last delivery pass.</summary>
    public void QueueDepth(long pending) => Interlocked.Exchange(ref _queueDepth, pending);

    /// <summary>An attempt whose claim lapsed while it was sent: its result was dropped.</summary>
    public void ClaimLost() => Interlocked.Increment(ref _claimsLost);

    public void Attempted(string outcome)
    {
        switch (outcome)
        {
            case Delivered:
                Interlocked.Increment(ref _delivered);
                break;
            case Retrying:
                Interlocked.Increment(ref _retrying);
                break;
            default:
                Interlocked.Increment(ref _failed);
                break;
        }
    }

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.webhook.queue_depth", MetricKind.Gauge, "Webhook deliveries waiting in the outbox (pending, due or scheduled for retry)",
            () => [new(Interlocked.Read(ref _queueDepth))]),
        new("gatehouse.webhook.deliveries", MetricKind.Counter, "Webhook delivery attempts by outcome: delivered, retrying (failed, another attempt is scheduled) or failed (no attempt left)",
            () => [new(Interlocked.Read(ref _delivered), "outcome", Delivered), new(Interlocked.Read(ref _retrying), "outcome", Retrying), new(Interlocked.Read(ref _failed), "outcome", Failed)]),
        new("gatehouse.webhook.claims_lost", MetricKind.Counter, "Webhook delivery attempts whose claim lapsed while they were sent; their result was dropped and the delivery is sent again",
            () => [new(Interlocked.Read(ref _claimsLost))]),
    ];
}
