using System.ComponentModel.DataAnnotations;
namespace Gatehouse.Contracts.Orgs;

/// <summary>Create an organization.</summary>
public sealed record CreateOrgRequest
{
    /// <summary>Display name, 1–200 characters.</summary>
    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Unique URL-safe handle; derived from the name when absent.</summary>
    [RegularExpression(SlugPattern)]
    public string? Slug { get; init; }

    /// <summary>1–64 lower-case letters, digits or single hyphens, starting with a letter or digit; the server applies this very pattern.</summary>
    public const string SlugPattern = "^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,63}$";

    public OrgSettings? Settings { get; init; }
}

/// <summary>Fields to change; absent fields stay as they are. <c>settings</c> replaces the settings object.</summary>
public sealed record UpdateOrgRequest
{
    [StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    [RegularExpression(CreateOrgRequest.SlugPattern)]
    public string? Slug { get; init; }

    public OrgSettings? Settings { get; init; }
}
