using Gatehouse.Contracts;
using Gatehouse.Contracts.Webhooks;

namespace Gatehouse.Client;

/// <summary><c>/api/v1/orgs/{orgId}/webhooks</c>: endpoints, their deliveries, redelivery and test events.</summary>
public sealed class WebhooksClient
{
    private readonly GatehouseTransport _transport;

    internal WebhooksClient(GatehouseTransport transport) => _transport = transport;

    private static string Path(string orgId) => Segment.Org(orgId) + "/webhooks";

    private static string Path(string orgId, string webhookId) => Path(orgId) + "/" + Segment.Of(webhookId);

    /// <summary>Registers an endpoint; its signing <c>secret</c> is shown only here and by <see cref="RotateSecretAsync"/>.</summary>
    public Task<WebhookWithSecretView> CreateAsync(string orgId, CreateWebhookRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookWithSecretView>(HttpMethod.Post, Path(orgId), request, options, cancellationToken);

    public Task<Page<WebhookView>> ListAsync(string orgId, WebhookListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<WebhookView>(Path(orgId), query, options, cancellationToken);

    public IAsyncEnumerable<WebhookView> ListAllAsync(string orgId, WebhookListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<WebhookView, WebhookListQuery>((q, ct) => ListAsync(orgId, q, options, ct), query ?? new WebhookListQuery(), cancellationToken);

    public Task<WebhookView> GetAsync(string orgId, string webhookId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookView>(HttpMethod.Get, Path(orgId, webhookId), null, options, cancellationToken);

    public Task<WebhookView> UpdateAsync(string orgId, string webhookId, UpdateWebhookRequest request, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookView>(HttpMethod.Patch, Path(orgId, webhookId), request, options, cancellationToken);

    public Task<Deleted> DeleteAsync(string orgId, string webhookId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<Deleted>(HttpMethod.Delete, Path(orgId, webhookId), null, options, cancellationToken);

    /// <summary>A new signing secret (shown once); during the grace period deliveries carry both signatures.</summary>
    public Task<WebhookWithSecretView> RotateSecretAsync(string orgId, string webhookId, RotateWebhookSecretRequest? request = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookWithSecretView>(HttpMethod.Post, Path(orgId, webhookId) + "/rotate-secret", request ?? new RotateWebhookSecretRequest(), options, cancellationToken);

    /// <summary>Queues a <c>webhook.test</c> event to the endpoint and returns its delivery.</summary>
    public Task<WebhookDeliveryView> TestAsync(string orgId, string webhookId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookDeliveryView>(HttpMethod.Post, Path(orgId, webhookId) + "/test", null, options, cancellationToken);

    /// <summary>Deliveries with every attempt (status, latency, response excerpt).</summary>
    public Task<Page<WebhookDeliveryView>> ListDeliveriesAsync(string orgId, string webhookId, DeliveryListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendPageAsync<WebhookDeliveryView>(Path(orgId, webhookId) + "/deliveries", query, options, cancellationToken);

    public IAsyncEnumerable<WebhookDeliveryView> ListAllDeliveriesAsync(string orgId, string webhookId, DeliveryListQuery? query = null, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        Paging.ReadAllAsync<WebhookDeliveryView, DeliveryListQuery>((q, ct) => ListDeliveriesAsync(orgId, webhookId, q, options, ct), query ?? new DeliveryListQuery(), cancellationToken);

    /// <summary>Sends a delivery's event again.</summary>
    public Task<WebhookDeliveryView> RedeliverAsync(string orgId, string webhookId, string deliveryId, RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<WebhookDeliveryView>(HttpMethod.Post, Path(orgId, webhookId) + "/deliveries/" + Segment.Of(deliveryId) + "/redeliver", null, options, cancellationToken);

    /// <summary>The event types an endpoint can subscribe to.</summary>
    public Task<IReadOnlyList<WebhookEventType>> ListEventTypesAsync(RequestOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<WebhookEventType>>(HttpMethod.Get, "webhook-events", null, options, cancellationToken);
}
