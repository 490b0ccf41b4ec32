using System.Text.RegularExpressions;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// Permission strings <c>resource:action</c> and how a granted set satisfies a required one:
/// exact match, <c>*</c>, <c>resource:*</c> (any action on a resource), and the shorthands
/// <c>read</c> / <c>write</c> (every platform <c>…:read</c> / <c>…:write</c>).
/// </summary>
public static partial class Permission
{
    public const string All = "*";
    public const string AdminAll = "admin:*";

    public static bool IsWellFormed(string? permission) => permission is not null && WellFormed().IsMatch(permission);

    /// <summary>
    /// Does any of <paramref name="granted"/> cover <paramref name="required"/>? Runs on every
    /// authenticated request and every verify with a permission query, so the usual collections
    /// are walked without boxing an enumerator.
    /// </summary>
    public static bool Grants(IReadOnlyCollection<string> granted, string required) => granted switch
    {
        { Count: 0 } => false, // the shared empty set of a key without permissions, among others
        string[] array => AnyGrants(array, required),
        List<string> list => AnyGrants(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list), required),
        HashSet<string> set => AnyGrants(set, required),
        _ => AnyGrants((IEnumerable<string>)granted, required),
    };

    private static bool AnyGrants(ReadOnlySpan<string> granted, string required)
    {
        foreach (var permission in granted)
        {
            if (Matches(permission, required))
            {
                return true;
            }
        }

        return false;
    }

    // Not a lambda over the collection: a closure capturing required would be allocated on
    // every call, whichever branch runs.
    private static bool AnyGrants(IEnumerable<string> granted, string required)
    {
        foreach (var permission in granted)
        {
            if (Matches(permission, required))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AnyGrants(HashSet<string> granted, string required)
    {
        foreach (var permission in granted)
        {
            if (Matches(permission, required))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Does one granted permission (which may hold wildcards) cover <paramref name="required"/>?</summary>
    public static bool Matches(string granted, string required)
    {
        if (granted == All || granted == required)
        {
            return true;
        }

        if (granted == "read" || granted == "write")
        {
            // required ends with ":read" (or ":write"), compared without building that string.
            return PermissionCatalog.IsPlatform(required)
                && required.Length > granted.Length
                && required[^(granted.Length + 1)] == ':'
                && required.EndsWith(granted, StringComparison.Ordinal);
        }

        if (!granted.Contains('*', StringComparison.Ordinal))
        {
            return false;
        }

        return WildcardMatch(granted, required);
    }

    /// <summary>Glob match where <c>*</c> stands for any run of characters (including none).</summary>
    public static bool WildcardMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (p < pattern.Length && pattern[p] == text[t])
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    [GeneratedRegex("^[a-z0-9_.:*-]{1,128}$")]
    private static partial Regex WellFormed();
}
