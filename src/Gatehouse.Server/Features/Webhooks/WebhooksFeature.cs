using System.Net;
using System.Net.Sockets;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>Settings of section <c>Gatehouse:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>Allow <c>http://</c> and loopback or private targets (development and tests only).</summary>
    public bool AllowInsecure { get; set; }

    /// <summary>False stops sending on this node; events stay queued for the others.</summary>
    public bool DeliveryEnabled { get; set; } = true;

    /// <summary>
    /// How long a dispatcher's claim on a delivery lasts without renewal (renewed every third of it
    /// while the attempt runs): a node that dies mid-delivery holds its deliveries at most this long.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(3, 600)]
    public int ClaimLeaseSeconds { get; set; } = 30;
}

/// <summary>What happens to webhook endpoints and deliveries.</summary>
public static class WebhookActions
{
    public static readonly AuditAction Create = new("webhook.create", "webhook", new WebhookEvent("webhook.created", "A webhook endpoint was created.", "webhooks:read"));
    public static readonly AuditAction Update = new("webhook.update", "webhook", new WebhookEvent("webhook.updated", "A webhook endpoint was changed.", "webhooks:read"));
    public static readonly AuditAction Delete = new("webhook.delete", "webhook", new WebhookEvent("webhook.deleted", "A webhook endpoint was deleted.", "webhooks:read"));
    public static readonly AuditAction RotateSecret = new("webhook.rotate_secret", "webhook", new WebhookEvent("webhook.secret_rotated", "A webhook endpoint's signing secret was rotated.", "webhooks:read"));
    public static readonly AuditAction Disable = new("webhook.disable", "webhook", new WebhookEvent("webhook.disabled", "The platform disabled a webhook endpoint that kept failing for 5 days.", "webhooks:read"));

    /// <summary>The test route's record; its event goes to the one endpoint, never to subscribers.</summary>
    public static readonly AuditAction Test = new("webhook.test", "webhook");
    public static readonly AuditAction Redeliver = new("webhook.redeliver", "webhook_delivery");

    public static readonly IReadOnlyList<AuditAction> All = [Create, Update, Delete, RotateSecret, Disable, Test, Redeliver];
}

/// <summary>
/// Signed webhooks: endpoints subscribe to the events of every feature's audit actions; deliveries
/// are queued in the same transaction as the change (the outbox) and sent with retries.
/// </summary>
public sealed class WebhooksFeature : Feature
{
    public override string Name => "Webhooks";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Webhooks", "Signed event deliveries with retries, history and redelivery.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("webhooks:read", "List webhook endpoints and deliveries."),
        new("webhooks:write", "Create, update, test and delete webhook endpoints."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => WebhookActions.All;

    public override IReadOnlyList<WebhookEvent> OwnWebhookEvents => [WebhookEventCatalog.TestEvent];

    public override void AddServices(FeatureServices services)
    {
        services.Options<WebhookOptions>(Name);
        services.Services.AddSingleton<WebhookSecrets>();
        services.Services.AddSingleton<WebhookUrlPolicy>();
        services.Services.AddSingleton<WebhookEventCatalog>();
        services.Services.AddSingleton<WebhookDispatchSignal>();
        services.ChangeSetParticipant<WebhookOutbox>().AfterCommit<WebhookOutbox>();
        services.OrgData<WebhookOrgData>();
        services.Job<WebhookDispatcher>();
        services.Metrics<WebhookDeliveryMetrics>();
        // The factory's own request logging writes the full URL, whose path and query often hold
        // the receiver's token: the dispatcher logs scheme and host instead.
        services.Services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => CreateHandler(sp.GetRequiredService<WebhookUrlPolicy>()));
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var hooks = routes.Api.MapGroup("/orgs/{orgId}/webhooks").WithTags("Webhooks");
        hooks.MapPost("", WebhookOperations.Create).RequirePermission("webhooks:write").GuardsEscalation().WithName("CreateWebhook").WithSummary("Register a webhook endpoint (the secret is shown once)");
        hooks.MapGet("", WebhookOperations.List).RequirePermission("webhooks:read").WithName("ListWebhooks").WithSummary("List webhook endpoints");
        hooks.MapGet("/{webhookId}", WebhookOperations.Get).RequirePermission("webhooks:read").WithName("GetWebhook").WithSummary("Get a webhook endpoint");
        hooks.MapPatch("/{webhookId}", WebhookOperations.Update).RequirePermission("webhooks:write").GuardsEscalation().WithName("UpdateWebhook").WithSummary("Update a webhook endpoint");
        hooks.MapDelete("/{webhookId}", WebhookOperations.Delete).RequirePermission("webhooks:write").WithName("DeleteWebhook").WithSummary("Delete a webhook endpoint");
        hooks.MapPost("/{webhookId}/rotate-secret", WebhookOperations.RotateSecret).RequirePermission("webhooks:write").WithName("RotateWebhookSecret").WithSummary("Rotate the signing secret, with an optional grace period");
        hooks.MapPost("/{webhookId}/test", WebhookOperations.Test).RequirePermission("webhooks:write").WithName("TestWebhook").WithSummary("Send a webhook.test event to this endpoint");
        hooks.MapGet("/{webhookId}/deliveries", WebhookOperations.ListDeliveries).RequirePermission("webhooks:read").WithName("ListWebhookDeliveries").WithSummary("List deliveries with every attempt");
        hooks.MapPost("/{webhookId}/deliveries/{deliveryId}/redeliver", WebhookOperations.Redeliver).RequirePermission("webhooks:write").WithName("RedeliverWebhook").WithSummary("Send a delivery's event again");
        routes.Api.MapGet("/webhook-events", WebhookOperations.ListEventTypes).RequireCredential().WithTags("Webhooks").WithName("ListWebhookEvents").WithSummary("The webhook event catalog");
    }

    /// <summary>
    /// No redirects (a 3xx could point inside the network), no proxy (it would dial for us), and a
    /// connect callback that resolves the host itself and refuses forbidden addresses at the moment
    /// of connecting, so a name that changes its answer after registration (DNS rebinding) gains nothing.
    /// </summary>
    internal static SocketsHttpHandler CreateHandler(WebhookUrlPolicy policy) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxResponseHeadersLength = 64,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await policy.ResolveForDeliveryAsync(context.DnsEndPoint.Host, cancellationToken);
            SocketException? last = null;
            foreach (var address in addresses)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    last = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw last ?? new SocketException((int)SocketError.HostNotFound);
        },
    };
}
