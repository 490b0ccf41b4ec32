using System.Net;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

public static class DrmRuleOperations
{
    public static async Task<Results<ApiCreated<DrmRuleView>, ApiError>> Create(
        string orgId, DrmRuleRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        var now = clock.GetUtcNow();
        var rule = new DrmRule { Id = Ids.New("drm", now), OrgId = orgId, Name = request.Name!, CreatedAt = now.UtcDateTime };
        Apply(rule, request, now.UtcDateTime);
        db.Add(rule);
        changes.Record(ContentActions.DrmRuleCreate, orgId, rule.Id, ContentViews.View(rule));
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<DrmRuleView>(ContentViews.View(rule));
    }

    public static async Task<Results<ApiPage<DrmRuleView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (items, pagination) = await db.Owned<DrmRule>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<DrmRuleView>([.. items.Select(ContentViews.View)], pagination);
    }

    public static async Task<Results<ApiOk<DrmRuleView>, ApiError>> Get(string orgId, string ruleId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var rule = await db.Owned<DrmRule>(orgId).AsNoTracking().FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
        return rule is null ? ApiError.NotFound("DRM rule") : new ApiOk<DrmRuleView>(ContentViews.View(rule));
    }

    /// <summary>Replaces the rule whole; the next open and download of every share using it obeys the new rule.</summary>
    public static async Task<Results<ApiOk<DrmRuleView>, ApiError>> Replace(
        string orgId, string ruleId, DrmRuleRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        var rule = await db.Owned<DrmRule>(orgId).FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
        if (rule is null)
        {
            return ApiError.NotFound("DRM rule");
        }

        Apply(rule, request, clock.GetUtcNow().UtcDateTime);
        changes.Record(ContentActions.DrmRuleUpdate, orgId, rule.Id, ContentViews.View(rule));
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<DrmRuleView>(ContentViews.View(rule));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(string orgId, string ruleId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var rule = await db.Owned<DrmRule>(orgId).FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
        if (rule is null)
        {
            return ApiError.NotFound("DRM rule");
        }

        if (await db.Owned<ContentContainer>(orgId).AnyAsync(c => c.DrmRuleId == ruleId, cancellationToken)
            || await db.Owned<ContentShare>(orgId).AnyAsync(s => s.DrmRuleId == ruleId && s.RevokedAt == null, cancellationToken))
        {
            return ApiError.Conflict("Containers or live shares still use this rule.");
        }

        await changes.RunAsync(async ct =>
        {
            // Revoked shares may still name it; they deny anyway, so they let go of it.
            await db.Owned<ContentShare>(orgId).Where(s => s.DrmRuleId == ruleId).ExecuteDeleteAsync(ct);
            db.Remove(rule);
            changes.Record(ContentActions.DrmRuleDelete, orgId, rule.Id, new { rule.Name });
        }, cancellationToken);
        return new ApiOk<Deleted>(new Deleted(rule.Id));
    }

    private static ApiError? Validate(DrmRuleRequest request)
    {
        var validation = new Validation().Required("name", request.Name, 100).Optional("watermark", request.Watermark, 200);
        if (request.MaxOpens is < 0)
        {
            validation.Add("maxOpens", "must be 0 or more");
        }

        if (request.MaxDownloads is < 0)
        {
            validation.Add("maxDownloads", "must be 0 or more");
        }

        if (request.NotBefore is { } notBefore && request.ExpiresAt is { } expiresAt && expiresAt <= notBefore)
        {
            validation.Add("expiresAt", "must be after notBefore");
        }

        if (request.AllowedCountries is { } countries && (countries.Count > 250 || countries.Any(c => c is null || c.Length != 2 || !c.All(char.IsAsciiLetter))))
        {
            validation.Add("allowedCountries", "must be ISO 3166 alpha-2 codes");
        }

        if (request.AllowedIpRanges is { } ranges && (ranges.Count > 100 || ranges.Any(r => ParseRange(r) is null)))
        {
            validation.Add("allowedIpRanges", "must be CIDR ranges or addresses");
        }

        return validation.IsValid ? null : validation.ToError();
    }

    private static void Apply(DrmRule rule, DrmRuleRequest request, DateTime now)
    {
        rule.Name = request.Name!;
        rule.NotBefore = request.NotBefore?.ToUniversalTime();
        rule.ExpiresAt = request.ExpiresAt?.ToUniversalTime();
        rule.MaxOpens = request.MaxOpens;
        rule.MaxDownloads = request.MaxDownloads;
        rule.AllowDownload = request.AllowDownload ?? false;
        rule.AllowPrint = request.AllowPrint ?? false;
        rule.AllowCopy = request.AllowCopy ?? false;
        rule.Watermark = request.Watermark;
        rule.AllowedCountries = request.AllowedCountries?.Select(c => c.ToUpperInvariant()).Distinct(StringComparer.Ordinal).ToList();
        rule.AllowedIpRanges = request.AllowedIpRanges?.Select(r => ParseRange(r)!.Value.ToString()).Distinct(StringComparer.Ordinal).ToList();
        rule.RequireConsent = request.RequireConsent ?? false;
        rule.UpdatedAt = now;
    }

    internal static IPNetwork? ParseRange(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        }

        return IPNetwork.TryParse(text, out var network) ? network : null;
    }
}
