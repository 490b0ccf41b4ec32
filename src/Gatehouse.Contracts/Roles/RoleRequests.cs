namespace Gatehouse.Contracts.Roles;

/// <summary>Create a role.</summary>
public sealed record CreateRoleRequest
{
    /// <summary>Unique in the organization: <c>[a-zA-Z0-9_.:-]{1,100}</c>.</summary>
    public string? Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Platform or custom permissions; wildcards allowed.</summary>
    public List<string>? Permissions { get; init; }
}

/// <summary>Fields to change; absent fields stay. <c>permissions</c> replaces the list.</summary>
public sealed record UpdateRoleRequest
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public List<string>? Permissions { get; init; }
}
