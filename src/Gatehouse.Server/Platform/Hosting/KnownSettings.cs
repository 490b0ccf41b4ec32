using System.Reflection;
using Gatehouse.Server.Platform.Composition;

namespace Gatehouse.Server.Platform.Hosting;

/// <summary>
/// Every key the <c>Gatehouse</c> configuration section may hold: the server-wide settings and the
/// sections the features bound. A key outside them is a typo (<c>RateLimits:PerMinut</c>,
/// <c>MaxRequestBodyByte</c>) whose setting would silently not apply, so the server refuses to
/// start and names it.
/// </summary>
public static class KnownSettings
{
    /// <summary>Keys read directly from the configuration rather than bound to an options class.</summary>
    private static readonly string[] Direct =
    [
        "TrustedProxies",
        "TrustedProxyHeader",
    ];

    /// <summary>Lists (a comma-separated string, or an array in appsettings.json: <c>TrustedProxies:0</c>…).</summary>
    private static readonly string[] Lists = ["TrustedProxies"];

    /// <summary>Keys that moved into their feature's section: named in the error, so an upgrade is one rename.</summary>
    private static readonly Dictionary<string, string> Moved = new(StringComparer.OrdinalIgnoreCase)
    {
        ["WebhooksAllowInsecure"] = "Webhooks:AllowInsecure",
        ["WebhookDeliveryEnabled"] = "Webhooks:DeliveryEnabled",
        ["UsageFlushSeconds"] = "ApiKeys:UsageFlushSeconds",
    };

    /// <summary>Throws a <see cref="StartupException"/> naming the first unknown key under <c>Gatehouse</c>.</summary>
    public static void Check(IConfiguration configuration, OptionSections sections)
    {
        var keys = BuildKeys(sections);
        var section = configuration.GetSection("Gatehouse");
        foreach (var child in section.AsEnumerable(makePathsRelative: true).OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            // Sections (RateLimits, Vault) appear as keys without a value; their leaves are checked.
            if (child.Value is null && section.GetSection(child.Key).GetChildren().Any())
            {
                continue;
            }

            if (Moved.TryGetValue(child.Key, out var movedTo))
            {
                throw new StartupException($"the setting Gatehouse:{child.Key} is now Gatehouse:{movedTo}");
            }

            if (!keys.Contains(child.Key) && !IsList(child.Key))
            {
                throw new StartupException($"unknown setting Gatehouse:{child.Key} (see the configuration table in README.md)");
            }
        }
    }

    private static bool IsList(string key)
    {
        var colon = key.LastIndexOf(':');
        return colon > 0 && Lists.Contains(key[..colon], StringComparer.OrdinalIgnoreCase) && int.TryParse(key[(colon + 1)..], out _);
    }

    private static HashSet<string> BuildKeys(OptionSections sections)
    {
        var keys = new HashSet<string>(Direct, StringComparer.OrdinalIgnoreCase);
        AddProperties(keys, typeof(GatehouseOptions), "");
        foreach (var (name, type) in sections.All)
        {
            AddProperties(keys, type, name + ":");
        }

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
