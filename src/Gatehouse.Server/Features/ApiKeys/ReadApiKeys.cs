using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class ListApiKeys
{
    /// <summary>The longest <c>q</c>; the OpenAPI document declares the same bound.</summary>
    public const int MaxSearchLength = 200;

    /// <summary>
    /// Keys of the organization, newest first, with the common paging and creation-time filters and
    /// <c>ownerId</c>, <c>enabled</c>, <c>q</c> (substring of the name), <c>includeRevoked</c> (default false).
    /// </summary>
    public static async Task<Results<ApiPage<ApiKeyView>, ApiError>> Handle(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? ownerId, [FromQuery(Name = "enabled")] string? enabledText, [FromQuery, MaxLength(MaxSearchLength)] string? q,
        [FromQuery(Name = "includeRevoked")] string? includeRevokedText, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error)
            || !PageQuery.TryParseBool("enabled", enabledText, out var enabled, out error)
            || !PageQuery.TryParseBool("includeRevoked", includeRevokedText, out var includeRevoked, out error))
        {
            return error!;
        }

        var query = db.Owned<ApiKey>(orgId).AsNoTracking();
        if (includeRevoked != true)
        {
            query = query.Where(k => k.RevokedAt == null);
        }

        if (ownerId is not null)
        {
            query = query.Where(k => k.OwnerId == ownerId);
        }

        if (enabled is { } isEnabled)
        {
            query = query.Where(k => k.Enabled == isEnabled);
        }

        if (q is { Length: > 0 } text)
        {
            if (text.Length > MaxSearchLength)
            {
                return PageQuery.Bad("q", $"must be at most {MaxSearchLength} characters");
            }

            query = query.Where(k => k.Name.Contains(text));
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var keys = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiPage<ApiKeyView>([.. keys.Select(k => ApiKeyView.From(k, now))], page.Paginate(total));
    }
}

public static class GetApiKey
{
    /// <summary>One key, revoked or not (a revoked key shows <c>revokedAt</c>).</summary>
    public static async Task<Results<ApiOk<ApiKeyView>, ApiError>> Handle(string orgId, string keyId, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var key = await db.Owned<ApiKey>(orgId).AsNoTracking().FirstOrDefaultAsync(k => k.Id == keyId, cancellationToken);
        return key is null ? ApiError.NotFound("API key") : new ApiOk<ApiKeyView>(ApiKeyView.From(key, clock.GetUtcNow().UtcDateTime));
    }
}
