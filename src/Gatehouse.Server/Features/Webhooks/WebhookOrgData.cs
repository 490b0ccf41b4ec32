using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// Deleting an organization deletes its endpoints (and their sealed secrets), deliveries and attempts
/// in the delete transaction — which is why there is no <c>org.deleted</c> event: no endpoint is left to get it.
/// </summary>
internal sealed class WebhookOrgData : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var endpointIds = db.Owned<WebhookEndpoint>(orgId).Select(w => w.Id);
        await db.Set<WebhookAttempt>().Where(a => endpointIds.Contains(a.EndpointId)).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<WebhookDelivery>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<WebhookEndpoint>(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken)
    {
        stats["webhooks"] = await db.Owned<WebhookEndpoint>(orgId).LongCountAsync(cancellationToken);
        stats["webhookDeliveriesPending"] = await db.Owned<WebhookDelivery>(orgId).LongCountAsync(d => d.Status == WebhookDelivery.Pending, cancellationToken);
    }
}
