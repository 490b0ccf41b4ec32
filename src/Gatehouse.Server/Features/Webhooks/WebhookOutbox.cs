using System.Text.Json;
using System.Text.Json.Nodes;
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
public sealed class WebhookOutbox(TimeProvider clock, WebhookDispatchSignal signal) : IChangeSetParticipant, IAfterCommitReaction
{
    /// <summary>Wakes this node's dispatcher once deliveries are committed (it also polls, for other nodes' work).</summary>
    public Task AfterCommitAsync(IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        if (actions.Any(a => a.OrgId is not null && a.Action.Event is not null))
        {
            signal.Wake();
        }

        return Task.CompletedTask;
    }

    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        var emitted = actions
            .Where(a => a.OrgId is not null && a.Action.Event is not null)
            .Select(a => (Audit: a, a.Action.Event!.Type, OrgId: a.OrgId!))
            .ToList();
        if (emitted.Count == 0)
        {
            return;
        }

        var orgIds = emitted.Select(e => e.OrgId).Distinct().ToList();
        var endpoints = await db.Set<WebhookEndpoint>().AsNoTracking()
            .Where(w => orgIds.Contains(w.OrgId) && w.Enabled).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var (audit, type, orgId) in emitted)
        {
            var eventId = Ids.New("evt", clock.GetUtcNow());
            string? payload = null;
            foreach (var endpoint in endpoints.Where(w => w.OrgId == orgId && w.Subscribes(type)))
            {
                payload ??= BuildPayload(type, audit);
                db.Add(NewDelivery(endpoint, eventId, type, payload, now));
            }
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
    public static string BuildPayload(string type, RecordedAction audit)
    {
        var data = new JsonObject
        {
            ["id"] = audit.TargetId,
            ["object"] = audit.Action.TargetType,
            ["orgId"] = audit.OrgId,
            ["action"] = audit.Action.Name,
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

/// <summary>
/// Wakes the dispatcher of this node right after work was committed. The dispatcher attaches itself
/// when it starts; on a node that does not deliver, waking does nothing.
/// </summary>
public sealed class WebhookDispatchSignal
{
    private Action? _wake;

    public void Attach(Action wake) => _wake = wake;

    public void Wake() => _wake?.Invoke();
}
