using Gatehouse.Server.Platform.Cluster;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// Other nodes' changes reach this node's session cache: a user changed, disabled, deleted or
/// logged out elsewhere loses the sessions cached here; a role or organization change drops the
/// organization's sessions (their permissions came from its roles).
/// </summary>
internal sealed class SessionClusterChanges(SessionCache sessions) : IClusterChangeHandler
{
    public void Apply(IReadOnlyList<ClusterChange> changes)
    {
        foreach (var change in changes)
        {
            if ((change.Action.StartsWith("user.", StringComparison.Ordinal) || change.Action == "auth.logout") && change.TargetId is { } userId)
            {
                sessions.EvictUser(userId);
            }
            else if (change.OrgId is { } orgId && (change.Action.StartsWith("role.", StringComparison.Ordinal) || change.Action.StartsWith("org.", StringComparison.Ordinal)))
            {
                sessions.EvictOrg(orgId);
            }
        }
    }

    public void Reset() => sessions.Clear();
}
