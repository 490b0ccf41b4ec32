using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Server.Features.Audit;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// Turns recorded audit events into webhook deliveries inside the audit transaction: one outbox
/// row per (event, subscribed enabled endpoint), so the change, its audit event and its deliveries
/// commit together or not at all. Fan-out happens here rather than in the dispatcher so that each
/// row is one unit of retry, claim and history.
/// </summary>
public sealed class WebhookOutbox(TimeProvider clock, WebhookDispatchSignal signal) : IAuditCommitHook
{
    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        var emitted = events
            .Where(e => e.OrgId != AuditEvent.PlatformChain)
            .Select(e => (Audit: e, Type: WebhookEventCatalog.EventTypeOf(e.Action)))
            .Where(e => e.Type is not null)
            .ToList();
        if (emitted.Count == 0)
        {
            return;
        }

        var orgIds = emitted.Select(e => e.Audit.OrgId).Distinct().ToList();
        var endpoints = await db.Set<WebhookEndpoint>().AsNoTracking()
            .Where(w => orgIds.Contains(w.OrgId) && w.Enabled).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var added = false;
        foreach (var (audit, type) in emitted)
        {
            var eventId = Ids.New("evt", clock.GetUtcNow());
            string? payload = null;
            foreach (var endpoint in endpoints.Where(w => w.OrgId == audit.OrgId && w.Subscribes(type!)))
            {
                payload ??= BuildPayload(type!, audit);
                db.Add(NewDelivery(endpoint, eventId, type!, payload, now));
                added = true;
            }
        }

        if (added)
        {
            // Wakes this node's dispatcher; it polls too, so a wake before the commit only costs a poll.
            signal.Wake();
        }
    }

    public static WebhookDelivery NewDelivery(WebhookEndpoint endpoint, string eventId, string type, string payload, DateTime now) => new()
    {
        Id = Ids.New("wdl", now),
        OrgId = endpoint.OrgId,
        EndpointId = endpoint.Id,
        EventId = eventId,
        EventType = type,
        Payload = payload,
        Status = WebhookDelivery.Pending,
        NextAttemptAt = now,
        CreatedAt = now,
    };

    /// <summary>The Standard Webhooks body: <c>{type, timestamp, data}</c>; data is the audit target and changes, never a secret.</summary>
    public static string BuildPayload(string type, AuditEvent audit)
    {
        var data = new JsonObject
        {
            ["id"] = audit.TargetId,
            ["object"] = audit.TargetType,
            ["orgId"] = audit.OrgId,
            ["action"] = audit.Action,
            ["actor"] = new JsonObject { ["type"] = audit.ActorType, ["id"] = audit.ActorId },
            ["auditEventId"] = audit.Id,
            ["requestId"] = audit.RequestId,
            ["changes"] = audit.Changes is null ? null : JsonNode.Parse(audit.Changes),
        };
        return BuildBody(type, audit.OccurredAt, data);
    }

    public static string BuildBody(string type, DateTime timestamp, JsonObject data)
    {
        var body = new JsonObject
        {
            ["type"] = type,
            ["timestamp"] = JsonSerializer.SerializeToNode(timestamp, JsonDefaults.Options),
            ["data"] = data,
        };
        return body.ToJsonString(JsonDefaults.Options);
    }
}

/// <summary>Wakes the dispatcher of this node right after work was queued.</summary>
public sealed class WebhookDispatchSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already awake.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);
}
