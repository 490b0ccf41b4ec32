using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class ValidateApiKey
{
    /// <summary>
    /// Answers whether <c>key</c> is the secret of this key and whether the key is usable (REVOKED,
    /// DISABLED, EXPIRED), in verify's shape. Another secret is NOT_FOUND. It is a read: it spends no
    /// credits, counts against no rate limit, records no usage and does not check the IP allowlist.
    /// </summary>
    public static async Task<Results<ApiOk<KeyVerdict>, ApiError>> Handle(
        string orgId, string keyId, ValidateApiKeyRequest request, GatehouseDb db, SecretHasher hasher, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Key))
        {
            return ApiError.Validation("key", "required");
        }

        if (request.Key.Length > 512)
        {
            return ApiError.Validation("key", "must be at most 512 characters");
        }

        var key = await db.Owned<ApiKey>(orgId).AsNoTracking().FirstOrDefaultAsync(k => k.Id == keyId, cancellationToken);
        if (key is null)
        {
            return ApiError.NotFound("API key");
        }

        var presented = ApiKeyFormat.IsWellFormed(request.Key) ? hasher.Hash(request.Key) : new string('0', 64);
        if (!SecretComparison.AreEqual(presented, key.Hash))
        {
            return new ApiOk<KeyVerdict>(KeyVerifier.NotFound);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var cached = CachedKey.From(key, []);
        var code = KeyVerifier.CheckState(cached, now) ?? VerifyCodes.Valid;
        var remaining = ApiKeyView.From(key, now).Remaining;
        return new ApiOk<KeyVerdict>(KeyVerifier.Describe(cached, code, remaining, []));
    }
}
