namespace Gatehouse.Server.Features.Webhooks;

/// <summary>One webhook event type and what causes it.</summary>
public sealed record WebhookEventType(string Type, string Description);

/// <summary>
/// The event types an endpoint can subscribe to. Events come from audit actions by one rule:
/// <c>resource.verb</c> becomes <c>resource.{past tense of verb}</c> (<c>api_key.create</c> →
/// <c>api_key.created</c>, <c>webhook.rotate_secret</c> → <c>webhook.secret_rotated</c>), and an
/// event is emitted only when this catalog lists its type — so a feature's actions become events
/// by adding one catalog line, and reads such as <c>credential.reveal</c> or <c>auth.failure</c>
/// never leave the server.
/// </summary>
public static class WebhookEventCatalog
{
    public const string TestEvent = "webhook.test";

    public static readonly IReadOnlyList<WebhookEventType> All =
    [
        new("org.updated", "The organization's name, slug or settings changed."),
        new("role.created", "A role was created."),
        new("role.updated", "A role was changed."),
        new("role.deleted", "A role was deleted."),
        new("api_key.created", "An API key was created."),
        new("api_key.updated", "An API key was changed."),
        new("api_key.rotated", "An API key was rotated."),
        new("api_key.revoked", "An API key was revoked."),
        new("credential.created", "A vault credential was created."),
        new("credential.updated", "A vault credential was changed."),
        new("credential.deleted", "A vault credential was deleted."),
        new("oauth_client.created", "An OAuth client was created."),
        new("oauth_client.updated", "An OAuth client was changed."),
        new("oauth_client.deleted", "An OAuth client was deleted."),
        new("oauth_client.secret_rotated", "An OAuth client's secret was rotated."),
        new("ratelimit_override.set", "A rate-limit override was created or replaced."),
        new("ratelimit_override.deleted", "A rate-limit override was removed."),
        new("webhook.created", "A webhook endpoint was created."),
        new("webhook.updated", "A webhook endpoint was changed."),
        new("webhook.deleted", "A webhook endpoint was deleted."),
        new("webhook.secret_rotated", "A webhook endpoint's signing secret was rotated."),
        new("webhook.disabled", "The platform disabled a webhook endpoint that kept failing for 5 days."),
        new(TestEvent, "Sent by POST …/webhooks/{webhookId}/test to that endpoint only."),
    ];

    private static readonly HashSet<string> Types = [.. All.Select(e => e.Type)];

    /// <summary>The event type of an audit action, or null when the action causes no event.</summary>
    public static string? EventTypeOf(string auditAction)
    {
        var dot = auditAction.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == auditAction.Length - 1)
        {
            return null;
        }

        var type = auditAction[..(dot + 1)] + PastTense(auditAction[(dot + 1)..]);
        // The test event is sent by its route to one endpoint, never fanned out.
        return type != TestEvent && Types.Contains(type) ? type : null;
    }

    public static bool IsKnown(string type) => Types.Contains(type);

    // Events describe resources; receiving them is reading them.
    private static readonly Dictionary<string, string> ReadPermissionByResource = new(StringComparer.Ordinal)
    {
        ["org"] = "orgs:read",
        ["role"] = "roles:read",
        ["api_key"] = "api_keys:read",
        ["credential"] = "credentials:read",
        ["oauth_client"] = "oauth_clients:read",
        ["ratelimit_override"] = "ratelimit:read",
        ["webhook"] = "webhooks:read",
    };

    /// <summary>
    /// The read permissions a subscriber must hold to receive what <paramref name="subscriptions"/>
    /// match: a webhook is a way of reading, so it carries no more than its creator may read.
    /// </summary>
    public static IReadOnlyCollection<string> ReadPermissionsFor(IEnumerable<string> subscriptions)
    {
        var list = subscriptions.ToList();
        return [.. All.Where(e => e.Type != TestEvent && Matches(list, e.Type))
            .Select(e => ReadPermissionByResource.GetValueOrDefault(e.Type[..e.Type.IndexOf('.', StringComparison.Ordinal)], Platform.Auth.Permission.AdminAll))
            .Distinct(StringComparer.Ordinal)];
    }

    /// <summary>A subscription entry: an event type, <c>resource.*</c>, or <c>*</c>.</summary>
    public static bool IsValidSubscription(string entry) =>
        entry == "*" || Types.Contains(entry) || (entry.EndsWith(".*", StringComparison.Ordinal) && All.Any(e => e.Type.StartsWith(entry[..^1], StringComparison.Ordinal)));

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

    /// <summary><c>create</c> → <c>created</c>; <c>rotate_secret</c> → <c>secret_rotated</c> (the object first, as in Stripe's names).</summary>
    private static string PastTense(string verb)
    {
        var underscore = verb.IndexOf('_', StringComparison.Ordinal);
        if (underscore > 0)
        {
            return verb[(underscore + 1)..] + "_" + PastTense(verb[..underscore]);
        }

        return verb switch
        {
            "set" or "reset" or "put" => verb,
            _ when verb.EndsWith('e') => verb + "d",
            _ => verb + "ed",
        };
    }
}
