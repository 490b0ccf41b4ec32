using System.Reflection;
using Gatehouse.Server.Features.RateLimits;

namespace Gatehouse.Server.Platform.Hosting;

/// <summary>
/// Every key the <c>Gatehouse</c> configuration section may hold. A key outside this list is a typo
/// (<c>RateLimts:PerMinute</c>, <c>MaxRequestBodyByte</c>) whose setting would silently not apply, so
/// the server refuses to start and names it.
/// </summary>
public static class KnownSettings
{
    /// <summary>Keys read directly from the configuration rather than bound to an options class.</summary>
    private static readonly string[] Direct =
    [
        "WebhookDeliveryEnabled",
        "Vault:ReencryptInBackground",
        "TrustedProxies",
        "TrustedProxyHeader",
    ];

    /// <summary>Lists (a comma-separated string, or an array in appsettings.json: <c>TrustedProxies:0</c>…).</summary>
    private static readonly string[] Lists = ["TrustedProxies"];

    private static readonly HashSet<string> Keys = BuildKeys();

    public static bool IsKnown(string relativeKey)
    {
        if (Keys.Contains(relativeKey))
        {
            return true;
        }

        var colon = relativeKey.LastIndexOf(':');
        return colon > 0 && Lists.Contains(relativeKey[..colon], StringComparer.OrdinalIgnoreCase) && int.TryParse(relativeKey[(colon + 1)..], out _);
    }

    /// <summary>Throws a <see cref="StartupException"/> naming the first unknown key under <c>Gatehouse</c>.</summary>
    public static void Check(IConfiguration configuration)
    {
        var section = configuration.GetSection("Gatehouse");
        foreach (var child in section.AsEnumerable(makePathsRelative: true).OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            // Sections (RateLimits, Vault) appear as keys without a value; their leaves are checked.
            if (child.Value is null && section.GetSection(child.Key).GetChildren().Any())
            {
                continue;
            }

            if (!IsKnown(child.Key))
            {
                throw new StartupException($"unknown setting Gatehouse:{child.Key} (see the configuration table in README.md)");
            }
        }
    }

    private static HashSet<string> BuildKeys()
    {
        var keys = new HashSet<string>(Direct, StringComparer.OrdinalIgnoreCase);
        AddProperties(keys, typeof(GatehouseOptions), "");
        AddProperties(keys, typeof(RateLimitOptions), "RateLimits:");
        return keys;
    }

    private static void AddProperties(HashSet<string> keys, Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            keys.Add(prefix + property.Name);
        }
    }
}
