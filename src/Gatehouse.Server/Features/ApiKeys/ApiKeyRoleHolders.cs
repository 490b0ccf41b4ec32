using System.Text.Json;
using Gatehouse.Server.Features.Roles;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>The live API keys that hold a role, for the escalation check of a role change.</summary>
internal sealed class ApiKeyRoleHolders : IRoleHolders
{
    public async Task<IReadOnlyList<IReadOnlyCollection<string>>> EffectivePermissionsAsync(GatehouseDb db, string orgId, string roleName, CancellationToken cancellationToken)
    {
        // Roles are a JSON text column: a LIKE on the quoted name narrows the rows in the database
        // (an org may hold many keys), and the exact match is made on the parsed list below.
        var pattern = $"%\"{roleName}\"%";
        var rows = await db.Database
            .SqlQuery<HolderRow>($"SELECT permissions AS \"Permissions\", roles AS \"Roles\" FROM api_keys WHERE org_id = {orgId} AND revoked_at IS NULL AND roles LIKE {pattern}")
            .ToListAsync(cancellationToken);
        var holders = rows.Select(r => (Permissions: Parse(r.Permissions), Roles: Parse(r.Roles)))
            .Where(r => r.Roles.Contains(roleName, StringComparer.Ordinal)).ToList();
        if (holders.Count == 0)
        {
            return [];
        }

        var roleNames = holders.SelectMany(h => h.Roles).Distinct(StringComparer.Ordinal).ToList();
        var rolePermissions = await new RoleDirectory(db).PermissionsByNameAsync(orgId, roleNames, cancellationToken);
        return [.. holders.Select(h => (IReadOnlyCollection<string>)h.Permissions
            .Concat(h.Roles.SelectMany(name => rolePermissions.GetValueOrDefault(name) ?? []))
            .ToHashSet(StringComparer.Ordinal))];
    }

    private static List<string> Parse(string json) => JsonSerializer.Deserialize<List<string>>(json) ?? [];

    private sealed class HolderRow
    {
        public string Permissions { get; init; } = "[]";
        public string Roles { get; init; } = "[]";
    }
}
