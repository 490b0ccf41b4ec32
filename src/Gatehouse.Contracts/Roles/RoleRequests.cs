using System.ComponentModel.DataAnnotations;
namespace Gatehouse.Contracts.Roles;

/// <summary>Create a role.</summary>
public sealed record CreateRoleRequest
{
    /// <summary>Unique in the organization: <c>[a-zA-Z0-9_.:-]{1,100}</c>.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>Platform or custom permissions; wildcards allowed.</summary>
    [Required]
    public List<string>? Permissions { get; init; }
}

/// <summary>Fields to change; absent fields stay. <c>permissions</c> replaces the list.</summary>
public sealed record UpdateRoleRequest
{
    /// <summary>Unique in the organization: <c>[a-zA-Z0-9_.:-]{1,100}</c>.</summary>
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    public List<string>? Permissions { get; init; }
}
