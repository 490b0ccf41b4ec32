using Gatehouse.Server.Platform.Cluster;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Other nodes' changes reach this node's key cache: a changed, revoked or rotated key is forgotten
/// by id; a change to what every key of an organization depends on (its roles, the users and service
/// accounts that own keys, the organization itself) forgets that organization's keys.
/// </summary>
internal sealed class KeyCacheClusterChanges(KeyRecordCache cache) : IClusterChangeHandler
{
    private static readonly string[] OrgWidePrefixes = ["role.", "org.", "user.", "service_account."];

    public void Apply(IReadOnlyList<ClusterChange> changes)
    {
        HashSet<string>? keyIds = null;
        HashSet<string>? orgIds = null;
        foreach (var change in changes)
        {
            if (change.Action.StartsWith("api_key.", StringComparison.Ordinal) && change.TargetId is { } keyId)
            {
                (keyIds ??= new(StringComparer.Ordinal)).Add(keyId);
            }
            else if (change.OrgId is { } orgId && OrgWidePrefixes.Any(prefix => change.Action.StartsWith(prefix, StringComparison.Ordinal)))
            {
                (orgIds ??= new(StringComparer.Ordinal)).Add(orgId);
            }
        }

        if (keyIds is not null || orgIds is not null)
        {
            cache.Evict(keyIds ?? [], orgIds ?? []);
        }
    }

    public void Reset() => cache.Clear();
}
