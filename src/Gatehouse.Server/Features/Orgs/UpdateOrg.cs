using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

public static class UpdateOrg
{
    public static async Task<Results<ApiOk<OrgView>, ApiError>> Handle(
        string orgId, UpdateOrgRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgDirectory directory, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Slug("slug", request.Slug);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name);
        }

        OrgRules.CheckSettings(validation, request.Settings);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var org = await db.Set<Organization>().FirstOrDefaultAsync(o => o.Id == orgId && o.DeletedAt == null, cancellationToken);
        if (org is null)
        {
            return ApiError.NotFound("organization");
        }

        var changed = new List<string>();
        if (request.Settings is null || request.Settings == org.Settings)
        {
            Escalation.RootOnly(httpContext, []);
        }

        if (request.Name is { } name && name.Trim() != org.Name)
        {
            org.Name = name.Trim();
            changed.Add("name");
        }

        if (request.Slug is { } slug && slug != org.Slug)
        {
            if (await db.Set<Organization>().AnyAsync(o => o.Slug == slug && o.Id != orgId, cancellationToken))
            {
                return ApiError.Conflict($"The slug '{slug}' is taken.");
            }

            org.Slug = slug;
            changed.Add("slug");
        }

        if (request.Settings is { } settings && settings != org.Settings)
        {
            // Key prefix and rate limits bind the platform, not only the organization: an org
            // credential raising its own limits would take capacity it was never given.
            var platformBound = new List<string>();
            if (settings.KeyPrefix != org.Settings.KeyPrefix)
            {
                platformBound.Add("settings.keyPrefix");
            }

            if (settings.RateLimits != org.Settings.RateLimits)
            {
                platformBound.Add("settings.rateLimits");
            }

            if (Escalation.RootOnly(httpContext, platformBound) is { } forbidden)
            {
                return forbidden;
            }

            org.Settings = settings;
            changed.Add("settings");
        }

        if (changed.Count > 0)
        {
            org.UpdatedAt = clock.GetUtcNow().UtcDateTime;
            changes.Record(OrgActions.Update, org.Id, org.Id, new { fields = changed });
            await changes.CommitAsync(cancellationToken);
            directory.Forget(orgId);
        }

        return new ApiOk<OrgView>(OrgView.From(org));
    }
}
