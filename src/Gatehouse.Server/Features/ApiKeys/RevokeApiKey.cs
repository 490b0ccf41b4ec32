using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class RevokeApiKey
{
    /// <summary>
    /// DELETE revokes: the record stays (for the audit trail and for verify to answer REVOKED), the
    /// key stops working on the very next request, and a second DELETE is 404.
    /// </summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Handle(
        string orgId, string keyId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var key = await db.Owned<ApiKey>(orgId).FirstOrDefaultAsync(k => k.Id == keyId && k.RevokedAt == null, cancellationToken);
        if (key is null)
        {
            return ApiError.NotFound("API key");
        }

        // Revoking is an effect on everything the key could do: the caller must hold all of it.
        if (Escalation.Authorize(httpContext, before: await ApiKeyRules.GrantAsync(db, key, cancellationToken), after: null, targetCredentialId: key.Id) is { } forbidden)
        {
            return forbidden;
        }

        key.RevokedAt = clock.GetUtcNow().UtcDateTime;
        key.UpdatedAt = key.RevokedAt.Value;
        changes.Record(ApiKeyActions.Revoke, orgId, key.Id, new { key.Name });
        await changes.CommitAsync(cancellationToken);
        cache.Evict(key.Hash);
        return new ApiOk<Deleted>(new Deleted(key.Id));
    }
}
