using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gatehouse.Server.Features.Orgs;

public static class GetOrgStats
{
    /// <summary>Counts per feature; every feature adds its own through <see cref="IOrgStatsContributor"/>.</summary>
    public static async Task<Results<ApiOk<IDictionary<string, object>>, ApiError>> Handle(
        string orgId, GatehouseDb db, IEnumerable<IOrgStatsContributor> contributors, CancellationToken cancellationToken)
    {
        var stats = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["orgId"] = orgId,
        };
        foreach (var contributor in contributors)
        {
            await contributor.ContributeAsync(db, orgId, stats, cancellationToken);
        }

        return new ApiOk<IDictionary<string, object>>(stats);
    }
}
