using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Server.Features.Users;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>
/// How access rules decide (docs/gateways.md): a gateway enforces the rules that reach it in one
/// order — lower priority number first, deny before allow at equal priority, then by id — and the
/// first rule matching a packet's destination, port and protocol decides. Nothing matching is
/// denied. A disabled user matches nothing.
/// </summary>
public static class AccessPolicy
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string Everyone = "*";

    public static readonly IReadOnlyList<string> Protocols = ["tcp", "udp", "icmp", "any"];

    /// <summary>Whether <paramref name="rule"/> names <paramref name="user"/> (by id, by a role as <c>group:</c>, or <c>*</c>).</summary>
    public static bool AppliesTo(AccessRule rule, UserSummary user)
    {
        if (user.Disabled)
        {
            return false;
        }

        foreach (var subject in rule.Subjects)
        {
            if (subject == Everyone
                || (subject.StartsWith("user:", StringComparison.Ordinal) && subject.AsSpan(5).SequenceEqual(user.Id))
                || (subject.StartsWith("group:", StringComparison.Ordinal) && user.Roles.Contains(subject[6..], StringComparer.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The enforcement order: priority ascending, deny before allow, then id (stable across calls).</summary>
    public static IEnumerable<AccessRule> Ordered(IEnumerable<AccessRule> rules) =>
        rules.OrderBy(r => r.Priority).ThenBy(r => r.Action == Deny ? 0 : 1).ThenBy(r => r.Id, StringComparer.Ordinal);

    /// <summary>The CIDR a rule targets at <paramref name="gatewayId"/>, or null when the rule does not reach that gateway.</summary>
    public static string? TargetAt(AccessRule rule, string gatewayId, IReadOnlyDictionary<string, GatewayNetwork> networks)
    {
        if (rule.Cidr is not null)
        {
            return rule.Cidr;
        }

        return rule.NetworkId is not null && networks.TryGetValue(rule.NetworkId, out var network) && network.GatewayIds.Contains(gatewayId)
            ? network.Cidr
            : null;
    }

    /// <summary>The first rule of <paramref name="ordered"/> that matches decides; none is <see cref="Deny"/>.</summary>
    public static string Decide(IEnumerable<EnforcedRule> ordered, IPAddress destination, int? port, string protocol)
    {
        foreach (var rule in ordered)
        {
            if (Matches(rule, destination, port, protocol))
            {
                return rule.Action;
            }
        }

        return Deny;
    }

    public static bool Matches(EnforcedRule rule, IPAddress destination, int? port, string protocol)
    {
        if (!IPNetwork.Parse(rule.Cidr).Contains(destination))
        {
            return false;
        }

        if (rule.Protocol != "any" && rule.Protocol != protocol)
        {
            return false;
        }

        return rule.Ports.Any(p => p == Everyone || (port is { } value && TryParsePorts(p, out var low, out var high) && value >= low && value <= high));
    }

    /// <summary><c>443</c> or <c>8000-8100</c> within 1–65535.</summary>
    public static bool TryParsePorts(string text, out int low, out int high)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var lowText = dash < 0 ? text : text[..dash];
        var highText = dash < 0 ? text : text[(dash + 1)..];
        high = 0;
        return int.TryParse(lowText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out low)
            && int.TryParse(highText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out high)
            && low >= 1 && high <= 65535 && low <= high;
    }

    /// <summary>A CIDR in canonical form (host bits cleared), or null when <paramref name="text"/> is not one.</summary>
    public static string? CanonicalCidr(string? text) =>
        text is not null && text.Contains('/', StringComparison.Ordinal) && TryCanonical(text.Trim(), out var canonical) ? canonical : null;

    private static bool TryCanonical(string text, out string canonical)
    {
        canonical = "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            return false;
        }

        var bits = address.GetAddressBytes();
        if (length > bits.Length * 8)
        {
            return false;
        }

        for (var i = 0; i < bits.Length; i++)
        {
            var keep = Math.Clamp(length - (i * 8), 0, 8);
            bits[i] &= (byte)(0xFF << (8 - keep));
        }

        canonical = new IPAddress(bits) + "/" + length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Whether two canonical CIDRs share any address.</summary>
    public static bool Overlap(string a, string b)
    {
        var first = IPNetwork.Parse(a);
        var second = IPNetwork.Parse(b);
        return first.BaseAddress.AddressFamily == second.BaseAddress.AddressFamily
            && (first.Contains(second.BaseAddress) || second.Contains(first.BaseAddress));
    }

    /// <summary>A short digest of what a gateway enforces: it changes exactly when the rules do.</summary>
    public static string VersionOf<T>(T rules)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(rules);
        return Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }
}
