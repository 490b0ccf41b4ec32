using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// The fields of one audit event that its hash covers. Absent optional fields hash as empty
/// strings; <paramref name="OccurredAt"/> is hashed to the millisecond, as written, whatever its kind.
/// </summary>
public sealed record AuditEventFields(
    string PrevHash,
    string Id,
    string OrgId,
    long Seq,
    string Action,
    string ActorType,
    string ActorId,
    string? TargetType,
    string? TargetId,
    string? Ip,
    string? UserAgent,
    string? RequestId,
    DateTime OccurredAt,
    string? Changes);

/// <summary>The fields of a chain's head that its seal covers; a head never lost has no <paramref name="LostAtSeq"/>.</summary>
public sealed record AuditHeadFields(string OrgId, long LastSeq, string LastHash, long KeyedFromSeq, long? LostAtSeq);

/// <summary>
/// The stored format of the audit chain: the canonical text of an event, its hash (keyed, or plain
/// SHA-256 for events written before keyed hashing) and the seal of a chain's head. Chains in
/// databases and backups are verified with it, so not a byte of it may change.
/// </summary>
public sealed class AuditChainFormat(ChainMac mac)
{
    /// <summary>How <see cref="AuditEventFields.OccurredAt"/> is written: the digits are taken as they are, never converted to UTC.</summary>
    public const string OccurredAtFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>The first field of every head seal, so a seal cannot be taken for any other length-prefixed MAC under the head subkey.</summary>
    public const string HeadLabel = "gatehouse/audit-head";

    public AuditChainFormat(ReadOnlySpan<byte> secret)
        : this(new ChainMac(secret))
    {
    }

    /// <summary>The fields joined with <c>\n</c> in a fixed order; the order must never change.</summary>
    public static string Canonical(AuditEventFields e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return string.Join('\n',
            e.PrevHash, e.Id, e.OrgId, e.Seq.ToString(CultureInfo.InvariantCulture), e.Action,
            e.ActorType, e.ActorId, e.TargetType ?? "", e.TargetId ?? "", e.Ip ?? "", e.UserAgent ?? "", e.RequestId ?? "",
            e.OccurredAt.ToString(OccurredAtFormat, CultureInfo.InvariantCulture), e.Changes ?? "");
    }

    /// <summary>The hash of events written before keyed hashing: lower-case hex SHA-256 of the UTF-8 <see cref="Canonical"/> text.</summary>
    public static string LegacyHash(AuditEventFields e) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(e))));

    /// <summary>Lower-case hex HMAC-SHA-256 of the UTF-8 <see cref="Canonical"/> text under the event subkey.</summary>
    public string EventHash(AuditEventFields e) => mac.EventHash(Canonical(e));

    /// <summary>True when <paramref name="stored"/> is the event's keyed (or plain) hash; compared in constant time.</summary>
    public bool EventHashMatches(AuditEventFields e, bool keyed, string? stored) =>
        SecretComparison.AreEqual(keyed ? EventHash(e) : LegacyHash(e), stored);

    /// <summary>
    /// Lower-case hex HMAC-SHA-256 under the head subkey of the length-prefixed fields
    /// <see cref="HeadLabel"/>, org id, last seq, last hash, keyed-from seq and lost-at seq
    /// (<c>-</c> when never lost), numbers in invariant decimal.
    /// </summary>
    public string HeadSeal(AuditHeadFields head)
    {
        ArgumentNullException.ThrowIfNull(head);
        return mac.HeadSeal(
            HeadLabel, head.OrgId, head.LastSeq.ToString(CultureInfo.InvariantCulture), head.LastHash,
            head.KeyedFromSeq.ToString(CultureInfo.InvariantCulture), head.LostAtSeq?.ToString(CultureInfo.InvariantCulture) ?? "-");
    }

    /// <summary>True when <paramref name="seal"/> is the head's seal; a missing seal never is. Constant time.</summary>
    public bool IsSealed(AuditHeadFields head, string? seal) => SecretComparison.AreEqual(HeadSeal(head), seal);
}
