namespace Gatehouse.Contracts.Roles;

/// <summary>A role as the API shows it.</summary>
public sealed record RoleView(string Id, string OrgId, string Name, string? Description, IReadOnlyList<string> Permissions, DateTime CreatedAt, DateTime UpdatedAt);
