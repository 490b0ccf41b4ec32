using Gatehouse.Contracts;
using Gatehouse.Contracts.RateLimits;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.RateLimits;

public static class RateLimitOverrides
{
    public static async Task<Results<ApiPage<RateLimitOverrideView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery(Name = "namespace")] string? ns, [FromQuery] string? identifier, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<RateLimitOverride>(orgId);
        if (ns is not null)
        {
            query = query.Where(o => o.Namespace == ns);
        }

        if (identifier is not null)
        {
            query = query.Where(o => o.Identifier == identifier);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<RateLimitOverrideView>([.. items.Select(RateLimitOverrideView.From)], page.Paginate(total));
    }

    /// <summary>Upsert: creates the override or replaces its limit and window.</summary>
    public static async Task<Results<ApiOk<RateLimitOverrideView>, ApiError>> Set(
        string orgId, SetRateLimitOverrideRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = StandaloneRateLimit.Validate(request.Namespace, request.Identifier, request.Limit, request.DurationMs);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Owned<RateLimitOverride>(orgId)
            .FirstOrDefaultAsync(o => o.Namespace == request.Namespace && o.Identifier == request.Identifier, cancellationToken);
        if (existing is null)
        {
            existing = new RateLimitOverride
            {
                Id = Ids.New("rlo", clock.GetUtcNow()),
                OrgId = orgId,
                Namespace = request.Namespace!,
                Identifier = request.Identifier!,
                CreatedAt = now,
            };
            db.Add(existing);
        }

        existing.Limit = request.Limit!.Value;
        existing.DurationMs = request.DurationMs!.Value;
        existing.UpdatedAt = now;
        changes.Record(RateLimitActions.SetOverride, orgId, existing.Id,
            new { existing.Namespace, existing.Identifier, existing.Limit, existing.DurationMs });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<RateLimitOverrideView>(RateLimitOverrideView.From(existing));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, [FromQuery(Name = "namespace")] string? ns, [FromQuery] string? identifier, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        ns ??= "";
        identifier ??= "";
        if (ns.Length == 0 || identifier.Length == 0)
        {
            return ApiError.Invalid("Query parameters 'namespace' and 'identifier' are required.", new Dictionary<string, object?> { ["parameter"] = ns.Length == 0 ? "namespace" : "identifier" });
        }

        var existing = await db.Owned<RateLimitOverride>(orgId).FirstOrDefaultAsync(o => o.Namespace == ns && o.Identifier == identifier, cancellationToken);
        if (existing is null)
        {
            return ApiError.NotFound("override");
        }

        db.Remove(existing);
        changes.Record(RateLimitActions.DeleteOverride, orgId, existing.Id, new { existing.Namespace, existing.Identifier });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(existing.Id));
    }
}
