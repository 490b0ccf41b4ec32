using Gatehouse.Contracts.Roles;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Roles;

/// <summary>A named set of permissions in one organization; API keys reference roles by name.</summary>
public sealed class Role : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public List<string> Permissions { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>How the server shows a role; the shape itself is in the contracts.</summary>
internal static class RoleViewMapping
{
    extension(RoleView)
    {
        public static RoleView From(Role role) => new(role.Id, role.OrgId, role.Name, role.Description, role.Permissions, role.CreatedAt, role.UpdatedAt);
    }
}

internal sealed class RoleMapping : IEntityTypeConfiguration<Role>
{
    public void Configure(EntityTypeBuilder<Role> builder)
    {
        builder.ToTable("roles");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Permissions).HasJsonConversion();
    }
}

/// <summary>Roles are deleted with their organization; they count towards its stats.</summary>
internal sealed class RoleOrgData : IOrgDataEraser, IOrgStatsContributor
{
    public Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        db.Owned<Role>(orgId).ExecuteDeleteAsync(cancellationToken);

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["roles"] = await db.Owned<Role>(orgId).LongCountAsync(cancellationToken);
}

/// <summary>
/// The Roles feature's service for other features: what roles exist and what they grant. Holders
/// of roles (API keys today; users and service accounts later) read roles only through it.
/// </summary>
[FeatureApi]
public sealed class RoleDirectory(GatehouseDb db)
{
    /// <summary>The distinct permissions the named roles grant (unknown names grant nothing).</summary>
    public async Task<IReadOnlyList<string>> ExpandAsync(string orgId, IReadOnlyCollection<string> roleNames, CancellationToken cancellationToken)
    {
        if (roleNames.Count == 0)
        {
            return [];
        }

        var roles = await db.Owned<Role>(orgId).AsNoTracking().Where(r => roleNames.Contains(r.Name)).ToListAsync(cancellationToken);
        return [.. roles.SelectMany(r => r.Permissions).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Each role's permissions by name: of <paramref name="roleNames"/>, or of every role of the organization when null.</summary>
    public async Task<Dictionary<string, List<string>>> PermissionsByNameAsync(string orgId, IReadOnlyCollection<string>? roleNames, CancellationToken cancellationToken)
    {
        var roles = db.Owned<Role>(orgId).AsNoTracking();
        if (roleNames is not null)
        {
            roles = roles.Where(r => roleNames.Contains(r.Name));
        }

        return await roles.ToDictionaryAsync(r => r.Name, r => r.Permissions, StringComparer.Ordinal, cancellationToken);
    }

    /// <summary>Which of <paramref name="roleNames"/> exist in the organization.</summary>
    public async Task<List<string>> ExistingAsync(string orgId, IReadOnlyCollection<string> roleNames, CancellationToken cancellationToken) =>
        await db.Owned<Role>(orgId).Where(r => roleNames.Contains(r.Name)).Select(r => r.Name).ToListAsync(cancellationToken);
}

/// <summary>
/// Credentials that hold roles by name (API keys; later users and service accounts). Changing,
/// renaming or deleting a role changes what every holder can do, so the escalation check asks each
/// kind of holder for the effective permissions of those holding a role.
/// </summary>
[FeatureApi]
public interface IRoleHolders
{
    /// <summary>The effective permissions (own and every role's) of each live holder of <paramref name="roleName"/>.</summary>
    Task<IReadOnlyList<IReadOnlyCollection<string>>> EffectivePermissionsAsync(GatehouseDb db, string orgId, string roleName, CancellationToken cancellationToken);
}
