using System.ComponentModel.DataAnnotations;

namespace Gatehouse.Contracts.Users;

/// <summary>Create a user of the organization in the path.</summary>
public sealed record CreateUserRequest
{
    /// <summary>Unique in the organization, compared case-insensitively.</summary>
    [Required, StringLength(254, MinimumLength = 3)]
    public string? Email { get; init; }

    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>12–256 characters, not one of the 100 000 most common breached passwords. Absent: the user cannot log in with a password.</summary>
    public string? Password { get; init; }

    /// <summary>Names of the organization's roles.</summary>
    public List<string>? Roles { get; init; }

    /// <summary>Direct grants, added to the roles' permissions.</summary>
    public List<string>? Permissions { get; init; }
}

/// <summary>
/// Create a user of any organization (root only). <c>orgId: null</c> creates a platform
/// administrator, who holds every permission on every organization like the root key.
/// </summary>
public sealed record CreateAdminUserRequest
{
    /// <summary>The user's organization; null for a platform administrator.</summary>
    public string? OrgId { get; init; }

    [Required, StringLength(254, MinimumLength = 3)]
    public string? Email { get; init; }

    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    public string? Password { get; init; }

    public List<string>? Roles { get; init; }

    public List<string>? Permissions { get; init; }
}

/// <summary>Fields to change; absent fields stay. Lists replace the stored list.</summary>
public sealed record UpdateUserRequest
{
    public string? Name { get; init; }
    public List<string>? Roles { get; init; }
    public List<string>? Permissions { get; init; }

    /// <summary>A disabled user cannot log in; their sessions end and their personal API keys stop.</summary>
    public bool? Disabled { get; init; }
}

/// <summary>Log in with an email and a password.</summary>
public sealed record LoginRequest
{
    [Required]
    public string? Email { get; init; }

    [Required]
    public string? Password { get; init; }

    /// <summary>Which organization's user, when the same email exists in several.</summary>
    public string? OrgId { get; init; }
}

/// <summary>End the current session, or with <c>all: true</c> every session of the user.</summary>
public sealed record LogoutRequest
{
    public bool? All { get; init; }
}

/// <summary>Change the password of the session's user; the user's other sessions end.</summary>
public sealed record ChangePasswordRequest
{
    [Required]
    public string? CurrentPassword { get; init; }

    [Required]
    public string? NewPassword { get; init; }
}
