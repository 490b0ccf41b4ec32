using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Users;

/// <summary>What another feature may know of a user: who it is, its roles, and whether it is disabled.</summary>
[FeatureApi]
public sealed record UserSummary(string Id, string Email, IReadOnlyList<string> Roles, bool Disabled);

/// <summary>Reads users of an organization for features that decide by user (access rules of gateways).</summary>
[FeatureApi]
public sealed class UserLookup(GatehouseDb db)
{
    public async Task<UserSummary?> FindAsync(string orgId, string userId, CancellationToken cancellationToken) =>
        await db.Set<User>().AsNoTracking().Where(u => u.OrgId == orgId && u.Id == userId)
            .Select(u => new UserSummary(u.Id, u.Email, u.Roles, u.Disabled)).FirstOrDefaultAsync(cancellationToken);

    /// <summary>Which of <paramref name="userIds"/> exist in the organization.</summary>
    public async Task<List<string>> ExistingAsync(string orgId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        await db.Set<User>().AsNoTracking().Where(u => u.OrgId == orgId && userIds.Contains(u.Id)).Select(u => u.Id).ToListAsync(cancellationToken);
}
