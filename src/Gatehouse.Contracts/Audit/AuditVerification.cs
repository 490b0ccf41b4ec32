namespace Gatehouse.Contracts.Audit;

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
