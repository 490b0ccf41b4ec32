using System.Text.Json;

namespace Gatehouse.Server.Features.Audit;

/// <summary>Who did it: <c>root_key</c>, <c>api_key</c>, <c>system</c> or <c>anonymous</c>, and its id.</summary>
public sealed record AuditActor(string Type, string Id);

/// <summary>What it was done to.</summary>
public sealed record AuditTarget(string? Type, string? Id);

/// <summary>
/// One audit event. <c>hash</c> is SHA-256 over the event and <c>prevHash</c> (the previous event of
/// the same organization, <c>seq</c> − 1), so an edited or removed row breaks the chain.
/// </summary>
public sealed record AuditEventView(
    string Id, string OrgId, long Seq, string Action, AuditActor Actor, AuditTarget? Target, string? Ip, string? UserAgent,
    string? RequestId, DateTime OccurredAt, JsonElement? Changes, string PrevHash, string Hash)
{
    public static AuditEventView From(AuditEvent e) => new(
        e.Id, e.OrgId, e.Seq, e.Action, new AuditActor(e.ActorType, e.ActorId),
        e.TargetType is null && e.TargetId is null ? null : new AuditTarget(e.TargetType, e.TargetId),
        e.Ip, e.UserAgent, e.RequestId, e.OccurredAt, ParseChanges(e.Changes), e.PrevHash, e.Hash);

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

/// <summary>The result of recomputing one organization's chain.</summary>
public sealed record AuditVerification(bool Valid, long Checked, string? FirstBrokenId);
