using System.Collections.Frozen;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Platform.Composition;

/// <summary>
/// What the features of this server declare, put together once: permissions, audit actions and
/// webhook events. A name declared twice is a programming error and stops the server.
/// </summary>
public sealed class FeatureCatalog
{
    private readonly FrozenSet<AuditAction> _actions;
    private readonly FrozenDictionary<string, WebhookEvent> _eventsByType;

    public FeatureCatalog(IEnumerable<Feature> features)
    {
        var list = features.ToList();
        Features = list;
        Permissions = Unique(list.SelectMany(f => f.Permissions), p => p.Name, "permission");
        AuditActions = Unique(list.SelectMany(f => f.AuditActions), a => a.Name, "audit action");
        var events = AuditActions.Where(a => a.Event is not null).Select(a => a.Event!).Distinct()
            .Concat(list.SelectMany(f => f.OwnWebhookEvents)).ToList();
        WebhookEvents = Unique(events, e => e.Type, "webhook event");
        _actions = AuditActions.ToFrozenSet();
        _eventsByType = WebhookEvents.ToFrozenDictionary(e => e.Type, StringComparer.Ordinal);
        Tags = Unique(list.SelectMany(f => f.Tags), t => t.Tag, "OpenAPI tag");
    }

    public IReadOnlyList<Feature> Features { get; }

    public IReadOnlyList<PermissionInfo> Permissions { get; }

    public IReadOnlyList<AuditAction> AuditActions { get; }

    /// <summary>The webhook event types an endpoint can subscribe to, in declaration order.</summary>
    public IReadOnlyList<WebhookEvent> WebhookEvents { get; }

    public IReadOnlyList<(string Tag, string Description)> Tags { get; }

    public bool Declares(AuditAction action) => _actions.Contains(action);

    public WebhookEvent? FindEvent(string type) => _eventsByType.GetValueOrDefault(type);

    private static List<T> Unique<T>(IEnumerable<T> items, Func<T, string> name, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<T>();
        foreach (var item in items)
        {
            if (!seen.Add(name(item)))
            {
                throw new InvalidOperationException($"The {what} {name(item)} is declared twice.");
            }

            list.Add(item);
        }

        return list;
    }
}
