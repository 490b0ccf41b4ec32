using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Platform.Composition;

/// <summary>
/// One capability of the server, declared in one place (<c>Features/&lt;Name&gt;/&lt;Name&gt;Feature.cs</c>):
/// its services, options, routes, permissions, audit actions and webhook events, organization
/// data, jobs, health checks and metrics. <c>Program.cs</c> lists the features; the permission
/// catalog, the event catalog, organization stats and the OpenAPI tags are the union of what they
/// declare, so nothing is advertised before the feature that backs it exists.
/// </summary>
public abstract class Feature
{
    /// <summary>The feature's name: its folder, and the section of its options (<c>Gatehouse:&lt;Name&gt;</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The OpenAPI tags of its routes, with the text the reference shows for each.</summary>
    public virtual IReadOnlyList<(string Tag, string Description)> Tags => [];

    /// <summary>The platform permissions its routes check.</summary>
    public virtual IReadOnlyList<PermissionInfo> Permissions => [];

    /// <summary>The audit actions it records (and through them, the webhook events it causes).</summary>
    public virtual IReadOnlyList<AuditAction> AuditActions => [];

    /// <summary>Webhook events it sends that no audit action causes (a test ping).</summary>
    public virtual IReadOnlyList<WebhookEvent> OwnWebhookEvents => [];

    /// <summary>Registers its services, options, organization data, jobs, health checks and metrics.</summary>
    public virtual void AddServices(FeatureServices services)
    {
    }

    /// <summary>Maps its routes: <see cref="FeatureRoutes.Api"/> is <c>/api/v1</c>, <see cref="FeatureRoutes.Root"/> the server's root.</summary>
    public virtual void MapRoutes(FeatureRoutes routes)
    {
    }
}

/// <summary>Where a feature maps its routes.</summary>
public sealed record FeatureRoutes(IEndpointRouteBuilder Root, RouteGroupBuilder Api);
