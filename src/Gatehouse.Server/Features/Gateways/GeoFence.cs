using System.Globalization;
using System.Net;
using MaxMind.GeoIP2;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>
/// IP address → ISO country, from the database the operator supplies: a MaxMind <c>.mmdb</c>
/// (<c>Gateways:GeoIpDatabasePath</c>) or a CSV of <c>cidr,country</c> lines
/// (<c>Gateways:GeoIpCsvPath</c>). Neither: every address is of an unknown country. Loaded once, at
/// first use; an unreadable file fails that use loudly rather than letting everyone through.
/// </summary>
public sealed class GeoIpLookup(GatewayOptions options) : IDisposable
{
    private readonly Lazy<Source> _source = new(() => Load(options), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Where countries come from: <c>maxmind</c>, <c>csv</c> or <c>none</c>.</summary>
    public string SourceName => options.GeoIpDatabasePath is not null ? "maxmind" : options.GeoIpCsvPath is not null ? "csv" : "none";

    /// <summary>The country (upper-case ISO 3166-1 alpha-2) of <paramref name="address"/>, or null when the database does not know it.</summary>
    public string? CountryOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var source = _source.Value;
        if (source.Reader is { } reader)
        {
            return reader.TryCountry(address, out var response) && response?.Country.IsoCode is { Length: 2 } code ? code.ToUpperInvariant() : null;
        }

        // Most specific range first: a /24 carved out of a /16 wins.
        foreach (var (network, country) in source.Ranges)
        {
            if (network.Contains(address))
            {
                return country;
            }
        }

        return null;
    }

    public void Dispose()
    {
        if (_source.IsValueCreated)
        {
            _source.Value.Reader?.Dispose();
        }
    }

    private static Source Load(GatewayOptions options)
    {
        if (options.GeoIpDatabasePath is { } mmdb)
        {
#pragma warning disable CA2000 // The reader lives as long as the lookup, which disposes it.
            return new Source(new DatabaseReader(mmdb), []);
#pragma warning restore CA2000
        }

        if (options.GeoIpCsvPath is not { } csv)
        {
            return new Source(null, []);
        }

        var ranges = new List<(IPNetwork, string)>();
        var number = 0;
        foreach (var raw in File.ReadLines(csv))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length < 2 || !IPNetwork.TryParse(CanonicalOrSelf(parts[0]), out var network) || !GeoFencePolicy.IsCountryCode(parts[1].ToUpperInvariant()))
            {
                // A header line is allowed; any other line that is not "cidr,country" is an operator's mistake.
                if (number == 1)
                {
                    continue;
                }

                throw new InvalidDataException($"{csv}:{number.ToString(CultureInfo.InvariantCulture)} is not 'cidr,country'.");
            }

            ranges.Add((network, parts[1].ToUpperInvariant()));
        }

        ranges.Sort((a, b) => b.Item1.PrefixLength.CompareTo(a.Item1.PrefixLength));
        return new Source(null, ranges);
    }

    private static string CanonicalOrSelf(string cidr) => AccessPolicy.CanonicalCidr(cidr) ?? cidr;

    private sealed record Source(DatabaseReader? Reader, List<(IPNetwork Network, string Country)> Ranges);
}

/// <summary>How the geo-fence decides (docs/vpn-configs.md): off passes all; allow passes only listed countries; deny refuses them.</summary>
public static class GeoFencePolicy
{
    public const string Off = "off";
    public const string AllowMode = "allow";
    public const string DenyMode = "deny";

    public static readonly IReadOnlyList<string> Modes = [Off, AllowMode, DenyMode];

    public static bool IsCountryCode(string text) => text.Length == 2 && char.IsAsciiLetterUpper(text[0]) && char.IsAsciiLetterUpper(text[1]);

    /// <summary>
    /// Null when <paramref name="country"/> passes; otherwise why not. An address of no known country
    /// fails an allow-list (it is not on it) and passes a deny-list.
    /// </summary>
    public static string? Refusal(string mode, IReadOnlyList<string> countries, string? country) => mode switch
    {
        AllowMode when country is null => "country_unknown",
        AllowMode when !countries.Contains(country, StringComparer.Ordinal) => "country_not_allowed",
        DenyMode when country is not null && countries.Contains(country, StringComparer.Ordinal) => "country_denied",
        _ => null,
    };
}
