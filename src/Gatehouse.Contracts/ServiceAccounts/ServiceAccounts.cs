using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.ApiKeys;

namespace Gatehouse.Contracts.ServiceAccounts;

/// <summary>Create a service account of the organization in the path, with its first API key.</summary>
public sealed record CreateServiceAccountRequest
{
    /// <summary>Unique in the organization, 1–100 characters.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>What the account may do; its keys are capped by it. Platform or custom permissions, wildcards allowed.</summary>
    [Required]
    public List<string>? Permissions { get; init; }
}

/// <summary>Create a service account of any organization (root), with its first API key.</summary>
public sealed record AdminCreateServiceAccountRequest
{
    /// <summary>The organization the account belongs to.</summary>
    [Required, StringLength(64, MinimumLength = 1)]
    public string? OrgId { get; init; }

    /// <summary>Unique in the organization, 1–100 characters.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>What the account may do; its keys are capped by it.</summary>
    [Required]
    public List<string>? Permissions { get; init; }
}

/// <summary>
/// Fields to change; absent fields stay. <c>permissions</c> replaces the list (refused while a live key
/// of the account holds more); <c>disabled: true</c> stops every key of the account until it is enabled again.
/// </summary>
public sealed record UpdateServiceAccountRequest
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public List<string>? Permissions { get; init; }
    public bool? Disabled { get; init; }
}

/// <summary>A service account: a non-human actor of an organization that owns API keys (their <c>ownerId</c> is its id).</summary>
public sealed record ServiceAccountView(
    string Id, string OrgId, string Name, string? Description, IReadOnlyList<string> Permissions, bool Disabled, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A new service account and its first API key; the key's secret is shown this once.</summary>
public sealed record CreatedServiceAccount(ServiceAccountView ServiceAccount, IssuedApiKey Key);
