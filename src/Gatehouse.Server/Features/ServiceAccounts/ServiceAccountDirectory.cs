using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ServiceAccounts;

/// <summary>What another feature may know of a service account: that it exists in the organization, its permissions, whether it is disabled.</summary>
[FeatureApi]
public sealed record ServiceAccountSummary(string Id, IReadOnlyList<string> Permissions, bool Disabled);

/// <summary>Looks service accounts up for features that issue credentials they own (OAuth clients).</summary>
[FeatureApi]
public sealed class ServiceAccountDirectory(GatehouseDb db)
{
    public async Task<ServiceAccountSummary?> FindAsync(string orgId, string serviceAccountId, CancellationToken cancellationToken) =>
        await db.Owned<ServiceAccount>(orgId).AsNoTracking().Where(a => a.Id == serviceAccountId)
            .Select(a => new ServiceAccountSummary(a.Id, a.Permissions, a.Disabled)).FirstOrDefaultAsync(cancellationToken);
}
