namespace Gatehouse.Server.Platform.Events;

/// <summary>
/// Something a feature records on the audit trail, declared once by the feature that owns it
/// (a static field of its <c>…Actions</c> class) and listed by its <see cref="Composition.Feature"/>.
/// Code refers to the value, never to its name: a subscriber cannot drift from a renamed action,
/// and the change set refuses an action no feature declared.
/// </summary>
public sealed class AuditAction(string name, string targetType, WebhookEvent? webhookEvent = null)
{
    /// <summary>The stored name, <c>resource.verb</c> (<c>api_key.create</c>).</summary>
    public string Name { get; } = name;

    /// <summary>The kind of thing the action is about (<c>api_key</c>, <c>request</c> …).</summary>
    public string TargetType { get; } = targetType;

    /// <summary>The webhook event the action causes when it commits; null for actions that stay inside (reads, failures).</summary>
    public WebhookEvent? Event { get; } = webhookEvent;

    public override string ToString() => Name;
}

/// <summary>
/// A webhook event type. Receiving an event is reading what it describes, so each type names the
/// permission a subscriber needs (<paramref name="readPermission"/>).
/// </summary>
public sealed class WebhookEvent(string type, string description, string readPermission)
{
    public string Type { get; } = type;
    public string Description { get; } = description;
    public string ReadPermission { get; } = readPermission;

    public override string ToString() => Type;
}
