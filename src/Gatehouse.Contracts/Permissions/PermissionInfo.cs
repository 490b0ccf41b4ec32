namespace Gatehouse.Contracts.Permissions;

/// <summary>One platform permission and what it allows.</summary>
public sealed record PermissionInfo(string Name, string Description);
