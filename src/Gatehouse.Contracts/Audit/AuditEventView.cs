using System.Text.Json;

namespace Gatehouse.Contracts.Audit;

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
    string? RequestId, DateTime OccurredAt, JsonElement? Changes, string PrevHash, string Hash);
