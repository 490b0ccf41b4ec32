using System.Security.Cryptography;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Orgs;

public static class CreateOrg
{
    public static async Task<Results<ApiCreated<OrgView>, ApiError>> Handle(
        CreateOrgRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Required("name", request.Name)
            .Slug("slug", request.Slug);
        OrgRules.CheckSettings(validation, request.Settings);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var explicitSlug = request.Slug is not null;
        var slug = request.Slug ?? OrgRules.SlugFromName(request.Name!);
        if (slug.Length == 0 || await db.Set<Organization>().AnyAsync(o => o.Slug == slug, cancellationToken))
        {
            if (explicitSlug)
            {
                return ApiError.Conflict($"The slug '{slug}' is taken.");
            }

            // A derived slug that collides gets a short random suffix, as a human would pick one.
            slug = (slug.Length == 0 ? "org" : slug) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var org = new Organization
        {
            Id = Ids.New("org", clock.GetUtcNow()),
            Name = request.Name!.Trim(),
            Slug = slug,
            Settings = request.Settings ?? new OrgSettings(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(org);
        changes.Record(OrgActions.Create, org.Id, org.Id, new { org.Name, org.Slug });
        try
        {
            await changes.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Two creates raced for one slug: the unique index kept one; tell the other so.
            db.Entry(org).State = EntityState.Detached;
            if (await db.Set<Organization>().AnyAsync(o => o.Slug == slug, CancellationToken.None))
            {
                return ApiError.Conflict($"The slug '{slug}' is taken.");
            }

            throw;
        }

        return new ApiCreated<OrgView>(OrgView.From(org));
    }
}
