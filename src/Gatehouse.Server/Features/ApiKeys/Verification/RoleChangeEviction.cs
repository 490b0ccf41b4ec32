using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// A role's permissions reach the keys that hold it through the cache: any role change of an
/// organization evicts that organization's cached keys, before the commit and again after it (a
/// key reloaded between the first eviction and the commit read the old role).
/// </summary>
internal sealed class RoleChangeEviction(KeyRecordCache cache) : IChangeSetParticipant, IAfterCommitReaction
{
    public Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        EvictRoleChanges(actions);
        return Task.CompletedTask;
    }

    public Task AfterCommitAsync(IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        EvictRoleChanges(actions);
        return Task.CompletedTask;
    }

    private void EvictRoleChanges(IReadOnlyList<RecordedAction> actions)
    {
        foreach (var orgId in actions.Where(a => a.OrgId is not null && RoleActions.All.Contains(a.Action)).Select(a => a.OrgId!).Distinct())
        {
            cache.EvictOrg(orgId);
        }
    }
}
