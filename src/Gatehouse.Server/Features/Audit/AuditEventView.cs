using System.Text.Json;
using Gatehouse.Contracts.Audit;

namespace Gatehouse.Server.Features.Audit;

/// <summary>How the server shows a stored audit event; the shape itself is in the contracts.</summary>
internal static class AuditEventViewMapping
{
    extension(AuditEventView)
    {
        public static AuditEventView From(AuditEvent e) => new(
            e.Id, e.OrgId, e.Seq, e.Action, new AuditActor(e.ActorType, e.ActorId),
            e.TargetType is null && e.TargetId is null ? null : new AuditTarget(e.TargetType, e.TargetId),
            e.Ip, e.UserAgent, e.RequestId, e.OccurredAt, ParseChanges(e.Changes), e.PrevHash, e.Hash);
    }

    private static JsonElement? ParseChanges(string? changes)
    {
        if (changes is null)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(changes).RootElement.Clone();
        }
        catch (JsonException)
        {
            // A row edited by hand is still shown (verify reports it); as the raw text.
            return JsonSerializer.SerializeToElement(changes);
        }
    }
}
