using System.Text.Json;

namespace Gatehouse.Server.Features.Audit;

/// <summary>Who did it: <c>root_key</c>, <c>api_key</c>, <c>system</c> or <c>anonymous</c>, and its id.</summary>
public sealed record AuditActor(string Type, string Id);

/// <summary>What it was done to.</summary>
public sealed record AuditTarget(string? Type, string? Id);

/// <summary>
/// One audit event. <c>hash</c> is HMAC-SHA-256 under the server's audit key (plain SHA-256 for
/// events written before keyed hashing) over the event and <c>prevHash</c> (the previous event of
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

/// <summary>
/// The result of recomputing one organization's chain and comparing where it ends with its head.
/// </summary>
/// <param name="Valid">Every event recomputes, links to the one before, and the chain ends exactly at its sealed head.</param>
/// <param name="Checked">Events read before the verdict.</param>
/// <param name="FirstBrokenId">The first event that fails (hash_mismatch, broken_link); null when the fault is at the end of the chain.</param>
public sealed record AuditVerification(bool Valid, long Checked, string? FirstBrokenId)
{
    public const string HashMismatch = "hash_mismatch";
    public const string BrokenLink = "broken_link";
    public const string Truncated = "truncated";
    public const string HeadMissing = "head_missing";
    public const string HeadMismatch = "head_mismatch";

    /// <summary>
    /// Why the chain is invalid, null when valid: <c>hash_mismatch</c> (an event's hash does not
    /// recompute), <c>broken_link</c> (a sequence gap or a prevHash that is not the previous hash),
    /// <c>truncated</c> (the events end before the head: the newest were deleted, or all of them),
    /// <c>head_missing</c> (events without a head, or a head that once went missing),
    /// <c>head_mismatch</c> (the head's seal is wrong, or the chain ends elsewhere than the head says).
    /// </summary>
    public string? Reason { get; init; }

    /// <summary>The sequence number the chain's head records (null when there is no head).</summary>
    public long? HeadSeq { get; init; }
}
