using System.Net;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>What the geo-fence decided for one address.</summary>
public sealed record GeoDecision(string? Country, string Mode, string? Refusal)
{
    public bool Allowed => Refusal is null;

    public IReadOnlyDictionary<string, object?> Details => new Dictionary<string, object?>
    {
        ["reason"] = "geo_fence",
        ["country"] = Country,
        ["geo_reason"] = Refusal,
    };
}

/// <summary>An organization's VPN policy (geo-fence, device-verified access), read where it applies: login, generation, verify.</summary>
public sealed class VpnPolicy(GatehouseDb db, GeoIpLookup geo)
{
    public string? CountryOf(IPAddress address) => geo.CountryOf(address);

    public Task<VpnSettings?> SettingsAsync(string orgId, CancellationToken cancellationToken) =>
        db.Owned<VpnSettings>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);

    /// <summary>The fence's decision for <paramref name="address"/> (an unknown address passes only when the fence is off or a deny-list).</summary>
    public async Task<GeoDecision> GeoAsync(string orgId, IPAddress? address, CancellationToken cancellationToken) =>
        Decide(await SettingsAsync(orgId, cancellationToken), address);

    public GeoDecision Decide(VpnSettings? settings, IPAddress? address)
    {
        var mode = settings?.GeoMode ?? GeoFencePolicy.Off;
        if (mode == GeoFencePolicy.Off)
        {
            return new GeoDecision(null, mode, null);
        }

        var country = address is null ? null : geo.CountryOf(address);
        return new GeoDecision(country, mode, GeoFencePolicy.Refusal(mode, settings!.GeoCountries, country));
    }
}

/// <summary>The geo-fence at password login: a user of a fenced organization logs in only from where the fence allows.</summary>
public sealed class GeoFenceLoginPolicy(VpnPolicy policy) : ILoginPolicy
{
    public async Task<LoginRefusal?> CheckAsync(string orgId, string userId, IPAddress? clientIp, CancellationToken cancellationToken)
    {
        var decision = await policy.GeoAsync(orgId, clientIp, cancellationToken);
        return decision.Allowed ? null
            : new LoginRefusal("geo_fence", "The organization's geo-fence does not allow logins from this location.", decision.Details);
    }
}
