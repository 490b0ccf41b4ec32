using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Composition;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// The platform permissions: what this API checks on its own routes, as the features declare them.
/// Permission checks are pure functions on the hot path, so the catalog is installed once per
/// process from the feature list of <c>Program</c> (a property of the build, like a constant)
/// rather than passed to every check.
/// </summary>
public static class PermissionCatalog
{
    private static Catalog s_catalog = new([]);

    /// <summary><c>admin:*</c>: platform administration across organizations, held by the root key only.</summary>
    public static readonly PermissionInfo Admin = new(Permission.AdminAll, "Platform administration across organizations (root only).");

    public static IReadOnlyList<PermissionInfo> All => s_catalog.All;

    /// <summary>Installs the features' permissions; a second call must bring the same list.</summary>
    public static void Install(IEnumerable<Feature> features)
    {
        var all = features.SelectMany(f => f.Permissions).Append(Admin).ToList();
        var current = s_catalog;
        if (current.All.Count > 0)
        {
            if (!current.All.Select(p => p.Name).SequenceEqual(all.Select(p => p.Name), StringComparer.Ordinal))
            {
                throw new InvalidOperationException("The permission catalog is installed once per process, from one feature list.");
            }

            return;
        }

        s_catalog = new Catalog(all);
    }

    /// <summary>A platform permission names one of our resources; anything else is the organization's own.</summary>
    public static bool IsPlatform(string permission)
    {
        var colon = permission.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && s_catalog.ResourcesBySpan.Contains(permission.AsSpan(0, colon));
    }

    private sealed class Catalog
    {
        public Catalog(IReadOnlyList<PermissionInfo> all)
        {
            All = all;
            var resources = new HashSet<string>(all.Select(p => p.Name[..p.Name.IndexOf(':', StringComparison.Ordinal)]), StringComparer.Ordinal);
            // Looked up by the span before the colon, so checking a permission allocates no substring.
            ResourcesBySpan = resources.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public IReadOnlyList<PermissionInfo> All { get; }

        public HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ResourcesBySpan { get; }
    }
}
