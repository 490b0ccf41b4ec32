namespace Gatehouse.Contracts.Orgs;

/// <summary>Create an organization.</summary>
public sealed record CreateOrgRequest
{
    /// <summary>Display name, 1–200 characters.</summary>
    public string? Name { get; init; }

    /// <summary>Unique URL-safe handle; derived from the name when absent.</summary>
    public string? Slug { get; init; }

    public OrgSettings? Settings { get; init; }
}

/// <summary>Fields to change; absent fields stay as they are. <c>settings</c> replaces the settings object.</summary>
public sealed record UpdateOrgRequest
{
    public string? Name { get; init; }
    public string? Slug { get; init; }
    public OrgSettings? Settings { get; init; }
}
