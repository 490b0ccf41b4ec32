using Gatehouse.Contracts.Webhooks;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// The event types an endpoint can subscribe to: the events of the audit actions every feature
/// declares (<see cref="AuditAction.Event"/>), and the test event. Reads such as
/// <c>credential.reveal</c> or <c>auth.failure</c> declare none and never leave the server.
/// </summary>
public sealed class WebhookEventCatalog(FeatureCatalog features)
{
    /// <summary>Sent by POST …/webhooks/{webhookId}/test to one endpoint; never fanned out.</summary>
    public static readonly WebhookEvent TestEvent = new("webhook.test", "Sent by POST …/webhooks/{webhookId}/test to that endpoint only.", "webhooks:read");

    public IReadOnlyList<WebhookEventType> All { get; } = [.. features.WebhookEvents.Select(e => new WebhookEventType(e.Type, e.Description))];

    public bool IsKnown(string type) => features.FindEvent(type) is not null;

    /// <summary>
    /// The read permissions a subscriber must hold to receive what <paramref name="subscriptions"/>
    /// match: a webhook is a way of reading, so it carries no more than its creator may read.
    /// </summary>
    public IReadOnlyCollection<string> ReadPermissionsFor(IEnumerable<string> subscriptions)
    {
        var list = subscriptions.ToList();
        return [.. features.WebhookEvents.Where(e => e != TestEvent && Matches(list, e.Type))
            .Select(e => e.ReadPermission)
            .Distinct(StringComparer.Ordinal)];
    }

    /// <summary>A subscription entry: an event type, <c>resource.*</c>, or <c>*</c>.</summary>
    public bool IsValidSubscription(string entry) =>
        entry == "*" || IsKnown(entry) || (entry.EndsWith(".*", StringComparison.Ordinal) && features.WebhookEvents.Any(e => e.Type.StartsWith(entry[..^1], StringComparison.Ordinal)));

    public static bool Matches(IEnumerable<string> subscriptions, string eventType)
    {
        foreach (var entry in subscriptions)
        {
            if (entry == "*" || entry == eventType || (entry.EndsWith(".*", StringComparison.Ordinal) && eventType.StartsWith(entry[..^1], StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
