using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.Orgs;

/// <summary>An organization as the API shows it.</summary>
public sealed record OrgView(string Id, string Name, string? Slug, OrgSettings Settings, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static OrgView From(Organization org) => new(org.Id, org.Name, org.Slug, org.Settings, org.CreatedAt, org.UpdatedAt);
}
