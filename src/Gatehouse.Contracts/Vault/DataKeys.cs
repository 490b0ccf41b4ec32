namespace Gatehouse.Contracts.Vault;

/// <summary>Rotate data keys of one organization, or of all when <c>orgId</c> is absent.</summary>
public sealed record RotateDataKeysRequest
{
    public string? OrgId { get; init; }
}

/// <summary>The new current data-key version of an organization.</summary>
public sealed record RotatedDataKey(string OrgId, int Version);

/// <summary>One data-key version and how many credential versions it still protects.</summary>
public sealed record KeyringEntry(string OrgId, int Version, bool Current, int Records, DateTime CreatedAt, DateTime? RetiredAt);
