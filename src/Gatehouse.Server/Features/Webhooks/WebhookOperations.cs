using System.Text.Json.Nodes;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Webhooks;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Webhooks;

public static class WebhookOperations
{
    public const int MaxGracePeriodSeconds = 7 * 24 * 3600;
    private const int MaxEvents = 100;

    public static async Task<Results<ApiCreated<WebhookWithSecretView>, ApiError>> Create(
        string orgId, CreateWebhookRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, WebhookSecrets secrets, WebhookUrlPolicy policy,
        WebhookEventCatalog catalog, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("url", request.Url, WebhookUrlPolicy.MaxUrlLength).Optional("description", request.Description, 1000);
        CheckEvents(catalog, validation, request.Events, required: true);
        if (validation.IsValid && await policy.CheckAsync(request.Url!, cancellationToken) is { } urlProblem)
        {
            validation.Add("url", urlProblem);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (Escalation.Holds(httpContext, [catalog.ReadPermissionsFor(request.Events!)]) is { } forbidden)
        {
            return forbidden;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var id = Ids.New("whk", clock.GetUtcNow());
        var secret = WebhookSignature.NewSecretBytes();
        var endpoint = new WebhookEndpoint
        {
            Id = id,
            OrgId = orgId,
            Url = request.Url!,
            Description = request.Description,
            Events = [.. request.Events!.Distinct(StringComparer.Ordinal)],
            Enabled = request.Enabled ?? true,
            SealedSecret = secrets.Seal(id, secret),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(endpoint);
        changes.Record(WebhookActions.Create, orgId, id, new { url = RedactUrl(endpoint.Url), endpoint.Events, endpoint.Enabled, endpoint.Description });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<WebhookWithSecretView>(WebhookWithSecretView.From(endpoint, now, WebhookSignature.FormatSecret(secret)));
    }

    public static async Task<Results<ApiPage<WebhookView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery(Name = "enabled")] string? enabledText, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error) || !PageQuery.TryParseBool("enabled", enabledText, out var enabled, out error))
        {
            return error!;
        }

        var query = db.Owned<WebhookEndpoint>(orgId).ApplyWindow(page);
        if (enabled is { } wanted)
        {
            query = query.Where(w => w.Enabled == wanted);
        }

        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiPage<WebhookView>([.. items.Select(w => WebhookView.From(w, now))], page.Paginate(total));
    }

    public static async Task<Results<ApiOk<WebhookView>, ApiError>> Get(string orgId, string webhookId, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        return endpoint is null ? ApiError.NotFound("webhook") : new ApiOk<WebhookView>(WebhookView.From(endpoint, clock.GetUtcNow().UtcDateTime));
    }

    public static async Task<Results<ApiOk<WebhookView>, ApiError>> Update(
        string orgId, string webhookId, UpdateWebhookRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, WebhookUrlPolicy policy,
        WebhookEventCatalog catalog, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("description", request.Description, 1000);
        if (request.Url is not null)
        {
            validation.Required("url", request.Url, WebhookUrlPolicy.MaxUrlLength);
        }

        CheckEvents(catalog, validation, request.Events, required: false);
        if (validation.IsValid && request.Url is not null && await policy.CheckAsync(request.Url, cancellationToken) is { } urlProblem)
        {
            validation.Add("url", urlProblem);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        if (endpoint is null)
        {
            return ApiError.NotFound("webhook");
        }

        if (Escalation.Holds(httpContext, [catalog.ReadPermissionsFor(request.Events ?? [])]) is { } forbidden)
        {
            return forbidden;
        }

        var changed = new List<string>();
        if (request.Url is { } url && url != endpoint.Url)
        {
            endpoint.Url = url;
            changed.Add("url");
        }

        if (request.Events is { } events)
        {
            List<string> distinct = [.. events.Distinct(StringComparer.Ordinal)];
            if (!distinct.SequenceEqual(endpoint.Events))
            {
                endpoint.Events = distinct;
                changed.Add("events");
            }
        }

        if (request.Description is { } description && description != endpoint.Description)
        {
            endpoint.Description = description;
            changed.Add("description");
        }

        if (request.Enabled is { } enabled && enabled != endpoint.Enabled)
        {
            endpoint.Enabled = enabled;
            endpoint.DisabledReason = null;
            endpoint.FailingSince = null;
            changed.Add("enabled");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (changed.Count > 0)
        {
            endpoint.UpdatedAt = now;
            changes.Record(WebhookActions.Update, orgId, endpoint.Id,
                new { fields = changed, url = RedactUrl(endpoint.Url), endpoint.Events, endpoint.Enabled });
            await changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<WebhookView>(WebhookView.From(endpoint, now));
    }

    /// <summary>Removes the endpoint with its pending deliveries and their history.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(string orgId, string webhookId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        if (endpoint is null)
        {
            return ApiError.NotFound("webhook");
        }

        await changes.RunAsync(async ct =>
        {
            await db.Set<WebhookAttempt>().Where(a => a.EndpointId == endpoint.Id).ExecuteDeleteAsync(ct);
            await db.Set<WebhookDelivery>().Where(d => d.EndpointId == endpoint.Id).ExecuteDeleteAsync(ct);
            db.Remove(endpoint);
            changes.Record(WebhookActions.Delete, orgId, endpoint.Id, new { url = RedactUrl(endpoint.Url) });
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(endpoint.Id));
    }

    public static async Task<Results<ApiOk<WebhookWithSecretView>, ApiError>> RotateSecret(
        string orgId, string webhookId, RotateWebhookSecretRequest? request, GatehouseDb db, ChangeSet changes, WebhookSecrets secrets,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var grace = request?.GracePeriodSeconds ?? 0;
        if (grace is < 0 or > MaxGracePeriodSeconds)
        {
            return ApiError.Validation("gracePeriodSeconds", $"must be from 0 to {MaxGracePeriodSeconds}");
        }

        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        if (endpoint is null)
        {
            return ApiError.NotFound("webhook");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var secret = WebhookSignature.NewSecretBytes();
        endpoint.PreviousSealedSecret = grace > 0 ? endpoint.SealedSecret : null;
        endpoint.PreviousSecretUntil = grace > 0 ? now.AddSeconds(grace) : null;
        endpoint.SealedSecret = secrets.Seal(endpoint.Id, secret);
        endpoint.UpdatedAt = now;
        changes.Record(WebhookActions.RotateSecret, orgId, endpoint.Id, new { gracePeriodSeconds = grace });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<WebhookWithSecretView>(WebhookWithSecretView.From(endpoint, now, WebhookSignature.FormatSecret(secret)));
    }

    /// <summary>Queues a <c>webhook.test</c> event for this endpoint only (202); its delivery shows in the deliveries list.</summary>
    public static async Task<Results<ApiOk<WebhookDeliveryView>, ApiError>> Test(
        string orgId, string webhookId, GatehouseDb db, ChangeSet changes, WebhookDispatchSignal signal, TimeProvider clock, CancellationToken cancellationToken)
    {
        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        if (endpoint is null)
        {
            return ApiError.NotFound("webhook");
        }

        if (!endpoint.Enabled)
        {
            return ApiError.Conflict("The webhook endpoint is disabled; enable it first.");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var eventId = Ids.New("evt", clock.GetUtcNow());
        var payload = WebhookOutbox.BuildBody(WebhookEventCatalog.TestEvent.Type, now, new JsonObject
        {
            ["id"] = endpoint.Id,
            ["object"] = "webhook",
            ["orgId"] = orgId,
            ["message"] = "This is a test event from Gatehouse.",
        });
        var delivery = WebhookOutbox.NewDelivery(endpoint, eventId, WebhookEventCatalog.TestEvent.Type, payload, now);
        db.Add(delivery);
        changes.Record(WebhookActions.Test, orgId, endpoint.Id, new { deliveryId = delivery.Id, eventId });
        await changes.CommitAsync(cancellationToken);
        signal.Wake();
        return new ApiOk<WebhookDeliveryView>(WebhookDeliveryView.From(delivery, []), StatusCodes.Status202Accepted);
    }

    public static async Task<Results<ApiPage<WebhookDeliveryView>, ApiError>> ListDeliveries(
        string orgId, string webhookId, [AsParameters] PageParameters paging, [FromQuery(Name = "status")] string? statusText, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var status = statusText ?? "";
        if (status.Length > 0 && status is not (WebhookDelivery.Pending or WebhookDelivery.Succeeded or WebhookDelivery.Failed or WebhookDelivery.Canceled))
        {
            return PageQuery.Bad("status", "must be pending, succeeded, failed or canceled");
        }

        if (await FindAsync(db, orgId, webhookId, cancellationToken) is null)
        {
            return ApiError.NotFound("webhook");
        }

        var query = db.Owned<WebhookDelivery>(orgId).AsNoTracking().Where(d => d.EndpointId == webhookId).ApplyWindow(page);
        if (status.Length > 0)
        {
            query = query.Where(d => d.Status == status);
        }

        var total = await query.LongCountAsync(cancellationToken);
        var deliveries = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        var ids = deliveries.Select(d => d.Id).ToList();
        var attempts = (await db.Set<WebhookAttempt>().AsNoTracking().Where(a => ids.Contains(a.DeliveryId)).ToListAsync(cancellationToken))
            .ToLookup(a => a.DeliveryId);
        return new ApiPage<WebhookDeliveryView>([.. deliveries.Select(d => WebhookDeliveryView.From(d, attempts[d.Id]))], page.Paginate(total));
    }

    /// <summary>
    /// Sends a delivery's event again as a new delivery with the same <c>webhook-id</c> (receivers
    /// deduplicate on it) and the same body, signed with the current secret (202).
    /// </summary>
    public static async Task<Results<ApiOk<WebhookDeliveryView>, ApiError>> Redeliver(
        string orgId, string webhookId, string deliveryId, GatehouseDb db, ChangeSet changes, WebhookDispatchSignal signal,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var endpoint = await FindAsync(db, orgId, webhookId, cancellationToken);
        if (endpoint is null)
        {
            return ApiError.NotFound("webhook");
        }

        var original = await db.Owned<WebhookDelivery>(orgId).AsNoTracking()
            .FirstOrDefaultAsync(d => d.Id == deliveryId && d.EndpointId == webhookId, cancellationToken);
        if (original is null)
        {
            return ApiError.NotFound("delivery");
        }

        if (!endpoint.Enabled)
        {
            return ApiError.Conflict("The webhook endpoint is disabled; enable it first.");
        }

        var delivery = WebhookOutbox.NewDelivery(endpoint, original.EventId, original.EventType, original.Payload, clock.GetUtcNow().UtcDateTime);
        db.Add(delivery);
        changes.Record(WebhookActions.Redeliver, orgId, delivery.Id, new { redeliveryOf = original.Id, webhookId, original.EventId });
        await changes.CommitAsync(cancellationToken);
        signal.Wake();
        return new ApiOk<WebhookDeliveryView>(WebhookDeliveryView.From(delivery, []), StatusCodes.Status202Accepted);
    }

    public static ApiPage<WebhookEventType> ListEventTypes(WebhookEventCatalog catalog) =>
        new(catalog.All, new Pagination(catalog.All.Count, catalog.All.Count, 0, 1, false));

    private static async Task<WebhookEndpoint?> FindAsync(GatehouseDb db, string orgId, string webhookId, CancellationToken cancellationToken) =>
        Ids.LooksLike(webhookId, "whk")
            ? await db.Owned<WebhookEndpoint>(orgId).FirstOrDefaultAsync(w => w.Id == webhookId, cancellationToken)
            : null;

    private static void CheckEvents(WebhookEventCatalog catalog, Validation validation, List<string>? events, bool required)
    {
        if (events is null)
        {
            if (required)
            {
                validation.Add("events", "required");
            }

            return;
        }

        if (events.Count is 0 or > MaxEvents)
        {
            validation.Add("events", $"must hold 1 to {MaxEvents} event types");
            return;
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is null || !catalog.IsValidSubscription(events[i]))
            {
                validation.Add($"events[{i}]", "must be an event type of GET /api/v1/webhook-events, resource.* or *");
            }
        }
    }

    /// <summary>The URL as the audit trail keeps it (see <see cref="WebhookUrlPolicy.Redact"/>).</summary>
    public static string RedactUrl(string url) => WebhookUrlPolicy.Redact(url);
}
