using System.Text.Json;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class UpdateApiKey
{
    public static async Task<Results<ApiOk<ApiKeyView>, ApiError>> Handle(
        string orgId, string keyId, UpdateApiKeyRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes,
        KeyRecordCache cache, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var validation = new Validation().Permissions("permissions", request.Permissions, required: false);
        ApiKeyRules.Name(validation, request.Name, required: false);
        ApiKeyRules.Roles(validation, request.Roles);
        ApiKeyRules.RateLimits(validation, request.Ratelimits);
        ApiKeyRules.IpAllowlist(validation, request.IpAllowlist);
        ApiKeyRules.TryRead<DateTime?>(validation, "expiresAt", request.ExpiresAt, out var expiresAt);
        ApiKeyRules.TryRead<string>(validation, "ownerId", request.OwnerId, out var ownerId);
        ApiKeyRules.TryRead<Dictionary<string, JsonElement>>(validation, "meta", request.Meta, out var meta);
        ApiKeyRules.TryRead<long?>(validation, "remaining", request.Remaining, out var remaining);
        ApiKeyRules.TryRead<KeyRefill>(validation, "refill", request.Refill, out var refill);
        ApiKeyRules.ExpiresAt(validation, expiresAt.Value, now);
        ApiKeyRules.OwnerId(validation, ownerId.Value);
        ApiKeyRules.OwnerChange(validation, httpContext, ownerId);
        ApiKeyRules.Meta(validation, meta.Value);
        ApiKeyRules.Remaining(validation, remaining.Value);
        ApiKeyRules.Refill(validation, refill.Value);
        await ApiKeyRules.MissingRolesAsync(validation, db, orgId, request.Roles, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var key = await db.Owned<ApiKey>(orgId).FirstOrDefaultAsync(k => k.Id == keyId && k.RevokedAt == null, cancellationToken);
        if (key is null)
        {
            return ApiError.NotFound("API key");
        }

        var permissions = request.Permissions?.Distinct(StringComparer.Ordinal).ToList();
        var roles = request.Roles?.Distinct(StringComparer.Ordinal).ToList();
        var before = await ApiKeyRules.GrantAsync(db, key, cancellationToken);

        var changed = new List<string>();
        void Set(string field, bool differs, Action apply)
        {
            if (differs)
            {
                apply();
                changed.Add(field);
            }
        }

        Set("name", request.Name is { } name && name.Trim() != key.Name, () => key.Name = request.Name!.Trim());
        Set("permissions", permissions is not null && !permissions.SequenceEqual(key.Permissions), () => key.Permissions = permissions!);
        Set("roles", roles is not null && !roles.SequenceEqual(key.Roles), () => key.Roles = roles!);
        Set("enabled", request.Enabled is { } enabled && enabled != key.Enabled, () => key.Enabled = request.Enabled!.Value);
        Set("ratelimits", request.Ratelimits is not null && !request.Ratelimits.SequenceEqual(key.Ratelimits), () => key.Ratelimits = request.Ratelimits!);
        Set("ipAllowlist", request.IpAllowlist is not null && !request.IpAllowlist.SequenceEqual(key.IpAllowlist), () => key.IpAllowlist = request.IpAllowlist!);
        Set("expiresAt", expiresAt.Present && expiresAt.Value != key.ExpiresAt, () => key.ExpiresAt = expiresAt.Value);
        Set("ownerId", ownerId.Present && ownerId.Value != key.OwnerId, () => key.OwnerId = ownerId.Value);
        Set("meta", meta.Present, () => key.Meta = meta.Value);
        Set("remaining", remaining.Present, () => key.Remaining = remaining.Value);
        Set("refill", refill.Present && refill.Value != key.Refill, () =>
        {
            key.Refill = refill.Value;
            // A new schedule starts now: the balance set today is not overwritten until the next refill time.
            key.LastRefillAt = refill.Value is null ? null : now;
            if (refill.Value is not null && key.Remaining is null)
            {
                key.Remaining = refill.Value.Amount;
            }
        });

        if (key.Refill is not null && key.Remaining is null)
        {
            // Unsaved: the tracked changes die with the request's context.
            return ApiError.Validation("remaining", "cannot be null while a refill is set (clear refill too, or set a balance)");
        }

        // Touching a key needs all it held and all it will hold; loosening its own restrictions is refused.
        if (Escalation.Authorize(httpContext, before, await ApiKeyRules.GrantAsync(db, key, cancellationToken), targetCredentialId: key.Id) is { } forbidden)
        {
            return forbidden;
        }

        if (changed.Count > 0)
        {
            key.UpdatedAt = now;
            changes.Record(ApiKeyActions.Update, orgId, key.Id, new { fields = changed, settings = CreateApiKey.AuditChanges(key) });
            await changes.CommitAsync(cancellationToken);
            cache.Evict(key.Hash);
        }

        return new ApiOk<ApiKeyView>(ApiKeyView.From(key, now));
    }
}
