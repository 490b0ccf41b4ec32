using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class RotateApiKey
{
    public const long MaxGraceSeconds = 30L * 24 * 3600;

    public static async Task<Results<ApiOk<IssuedApiKey>, ApiError>> Handle(
        string orgId, string keyId, RotateApiKeyRequest? request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher,
        KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var grace = request?.GracePeriodSeconds ?? 0;
        if (grace is < 0 or > MaxGraceSeconds)
        {
            return ApiError.Validation("gracePeriodSeconds", $"must be an integer from 0 to {MaxGraceSeconds}");
        }

        var old = await db.Owned<ApiKey>(orgId).FirstOrDefaultAsync(k => k.Id == keyId && k.RevokedAt == null, cancellationToken);
        if (old is null)
        {
            return ApiError.NotFound("API key");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (old.ExpiresAt is { } expired && expired <= now)
        {
            return ApiError.Conflict("The key has expired; an expired key cannot be rotated (create a new one).");
        }

        // A key in its rotation grace period already has a successor: rotating it again would fork
        // the lineage into two live keys. Rotate the successor instead. (Two racing rotations are
        // stopped by the key's row version: the second commit is refused.)
        var successorId = await db.Owned<ApiKey>(orgId).Where(k => k.RotatedFrom == old.Id).Select(k => k.Id).FirstOrDefaultAsync(cancellationToken);
        if (successorId is not null)
        {
            return new ApiError(ErrorCodes.Conflict, $"The key was already rotated and is in its grace period; rotate its successor {successorId} instead.",
                new Dictionary<string, object?> { ["successorId"] = successorId });
        }

        // The caller receives a working secret of this key: it must hold all the key holds, and the
        // new key must not be looser than the caller (the same terms as creating it).
        var grant = await ApiKeyRules.GrantAsync(db, old, cancellationToken);
        if (Escalation.Authorize(httpContext, before: grant, after: grant, targetCredentialId: old.Id, issuesSecret: true) is { } forbidden)
        {
            return forbidden;
        }

        var secret = ApiKeyFormat.Generate(old.Prefix);
        var replacement = new ApiKey
        {
            Id = Ids.New("key", clock.GetUtcNow()),
            OrgId = orgId,
            Name = old.Name,
            Hash = hasher.Hash(secret),
            Start = ApiKeyFormat.Start(secret),
            Prefix = old.Prefix,
            Permissions = [.. old.Permissions],
            Roles = [.. old.Roles],
            Enabled = old.Enabled,
            // The owner's state travels with the key: rotating cannot bring a suspended owner's key back.
            OwnerSuspended = old.OwnerSuspended,
            ExpiresAt = old.ExpiresAt,
            OwnerId = old.OwnerId,
            Meta = old.Meta,
            Remaining = old.Remaining,
            Refill = old.Refill,
            LastRefillAt = old.LastRefillAt,
            Ratelimits = [.. old.Ratelimits],
            IpAllowlist = [.. old.IpAllowlist],
            RotatedFrom = old.Id,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var graceEnds = now.AddSeconds(grace);
        old.ExpiresAt = old.ExpiresAt is { } own && own < graceEnds ? own : graceEnds;
        old.UpdatedAt = now;
        db.Add(replacement);
        // One event for one operation: the new key's id and settings travel with the rotation.
        changes.Record(ApiKeyActions.Rotate, orgId, old.Id,
            new { newKeyId = replacement.Id, gracePeriodSeconds = grace, oldKeyExpiresAt = old.ExpiresAt, settings = CreateApiKey.AuditChanges(replacement) });
        await changes.CommitAsync(cancellationToken);
        cache.Evict(old.Hash);
        cache.Evict(replacement.Hash);
        return new ApiOk<IssuedApiKey>(IssuedApiKey.From(replacement, secret, now));
    }
}
