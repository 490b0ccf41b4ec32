using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.Orgs;

/// <summary>How the server shows an organization; the shape itself is in the contracts.</summary>
internal static class OrgViewMapping
{
    extension(OrgView)
    {
        public static OrgView From(Organization org) => new(org.Id, org.Name, org.Slug, org.Settings, org.CreatedAt, org.UpdatedAt);
    }
}
