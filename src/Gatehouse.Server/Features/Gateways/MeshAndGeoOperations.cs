using System.Net;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>
/// Mesh hubs (docs/vpn-configs.md, "Mesh hubs"): a WireGuard gateway that joins networks site to
/// site. Each site (spoke) gets a WireGuard config like a user does, routing the hub's networks and
/// the other spokes' subnets through the hub.
/// </summary>
public static class MeshHubOperations
{
    public static Task<Results<ApiCreated<MeshHubView>, ApiError>> Create(
        string orgId, MeshHubRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveAsync(orgId, null, request, db, changes, clock, view => new ApiCreated<MeshHubView>(view), cancellationToken);

    public static Task<Results<ApiOk<MeshHubView>, ApiError>> Update(
        string orgId, string hubId, MeshHubRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveAsync(orgId, hubId, request, db, changes, clock, view => new ApiOk<MeshHubView>(view), cancellationToken);

    public static async Task<Results<ApiPage<MeshHubView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (hubs, pagination) = await db.Owned<MeshHub>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<MeshHubView>(await ViewsAsync(db, orgId, hubs, cancellationToken), pagination);
    }

    /// <summary>The hubs the caller may reach: a user sees those whose gateway its rules allow it through; other readers see all.</summary>
    public static async Task<Results<ApiPage<MeshHubView>, ApiError>> ListAvailable(
        string orgId, [AsParameters] PageParameters paging, HttpContext httpContext, GatehouseDb db, Users.UserLookup users, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var principal = httpContext.RequirePrincipal();
        var hubs = await db.Owned<MeshHub>(orgId).AsNoTracking().ApplyWindow(page).OrderBy(h => h.CreatedAt).ThenBy(h => h.Id).ToListAsync(cancellationToken);
        if (principal.Kind == ActorKind.UserSession && !principal.Has("gateways:write"))
        {
            var user = principal.SubjectId is { } userId ? await users.FindAsync(orgId, userId, cancellationToken) : null;
            var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
            hubs = user is null ? [] : [.. hubs.Where(h => GatewayRules.ForClient(rules, networks, h.GatewayId, user).Any(r => r.Action == AccessPolicy.Allow))];
        }

        var sorted = page.Descending ? hubs.AsEnumerable().Reverse() : hubs;
        var window = sorted.Skip(page.Offset).Take(page.Limit).ToList();
        return new ApiPage<MeshHubView>(await ViewsAsync(db, orgId, window, cancellationToken), page.Paginate(hubs.Count));
    }

    public static async Task<Results<ApiOk<MeshHubView>, ApiError>> Get(string orgId, string hubId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var hub = await db.Owned<MeshHub>(orgId).AsNoTracking().FirstOrDefaultAsync(h => h.Id == hubId, cancellationToken);
        return hub is null ? ApiError.NotFound("mesh hub") : new ApiOk<MeshHubView>((await ViewsAsync(db, orgId, [hub], cancellationToken))[0]);
    }

    /// <summary>Deletes a hub; its spokes' configs are revoked in the same transaction.</summary>
    public static async Task<Results<ApiOk<MeshHubView>, ApiError>> Delete(string orgId, string hubId, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var hub = await db.Owned<MeshHub>(orgId).FirstOrDefaultAsync(h => h.Id == hubId, cancellationToken);
        if (hub is null)
        {
            return ApiError.NotFound("mesh hub");
        }

        var view = (await ViewsAsync(db, orgId, [hub], cancellationToken))[0];
        await services.Changes.RunAsync(async ct =>
        {
            var spokes = await db.Owned<VpnConfig>(orgId).Where(c => c.HubId == hubId && c.RevokedAt == null).ToListAsync(ct);
            foreach (var spoke in spokes)
            {
                await VpnConfigOperations.RevokeTrackedAsync(db, orgId, spoke, "cessation_of_operation", services.Authorities, services.Now, ct);
            }

            db.Remove(hub);
            services.Changes.Record(VpnActions.DeleteHub, orgId, hub.Id, new { hub.Name, spokesRevoked = spokes.Count });
        }, cancellationToken);
        return new ApiOk<MeshHubView>(view);
    }

    /// <summary>A site joins the hub: a WireGuard config like a user's, downloaded once by the credential that asked for it.</summary>
    public static async Task<Results<ApiCreated<GeneratedConfigView>, ApiError>> AddSpoke(
        string orgId, string hubId, MeshSpokeRequest request, HttpContext httpContext, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 100);
        var cidrs = new List<string>();
        foreach (var (cidr, index) in (request.LocalCidrs ?? []).Select((c, i) => (c, i)))
        {
            if (AccessPolicy.CanonicalCidr(cidr) is { } canonical)
            {
                cidrs.Add(canonical);
            }
            else
            {
                validation.Add($"local_cidrs[{index}]", "must be an IPv4 or IPv6 CIDR such as 192.168.5.0/24");
            }
        }

        if (request.PublicKey is not null && !VpnConfigFiles.IsWireGuardKey(request.PublicKey))
        {
            validation.Add("public_key", "must be a WireGuard public key: 32 bytes in base64 (44 characters)");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var db = services.Db;
        var hub = await db.Owned<MeshHub>(orgId).AsNoTracking().FirstOrDefaultAsync(h => h.Id == hubId, cancellationToken);
        var gateway = hub is null ? null : await db.Owned<Gateway>(orgId).AsNoTracking().FirstOrDefaultAsync(g => g.Id == hub.GatewayId, cancellationToken);
        if (hub is null || gateway is null)
        {
            return ApiError.NotFound("mesh hub");
        }

        var name = request.Name!.Trim();
        if (await db.Owned<VpnConfig>(orgId).AnyAsync(c => c.HubId == hubId && c.SpokeName == name && c.RevokedAt == null, cancellationToken))
        {
            return ApiError.Conflict($"The hub already has a live spoke named '{name}'.");
        }

        var networks = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().ToListAsync(cancellationToken);
        var owner = httpContext.RequirePrincipal().Actor.Id;
        return await VpnConfigOperations.CreateAsync(orgId, owner, gateway, VpnConfigOperations.WireGuard, request.PublicKey, null, hub, name, cidrs, networks, services, cancellationToken);
    }

    /// <summary>What a spoke routes through the hub: the hub's networks and every other live spoke's subnets.</summary>
    internal static List<string> RoutedCidrs(MeshHub? hub, IReadOnlyDictionary<string, GatewayNetwork> networks, IEnumerable<string> otherSpokes) =>
        hub is null ? []
        : [.. hub.NetworkIds.Where(networks.ContainsKey).Select(id => networks[id].Cidr).Concat(otherSpokes).Distinct(StringComparer.Ordinal)];

    internal static async Task<List<string>> SpokeCidrsAsync(GatehouseDb db, string orgId, string hubId, string? exceptConfigId, CancellationToken cancellationToken)
    {
        var spokes = await db.Owned<VpnConfig>(orgId).AsNoTracking().Where(c => c.HubId == hubId && c.RevokedAt == null && c.Id != exceptConfigId)
            .Select(c => c.LocalCidrs).ToListAsync(cancellationToken);
        return [.. spokes.SelectMany(c => c)];
    }

    private static async Task<Results<T, ApiError>> SaveAsync<T>(
        string orgId, string? hubId, MeshHubRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, Func<MeshHubView, T> answer,
        CancellationToken cancellationToken) where T : IResult
    {
        var validation = new Validation().Required("name", request.Name, 100).Optional("description", request.Description, 1000).Required("gateway_id", request.GatewayId, 64);
        if (request.GatewayId is { Length: > 0 and <= 64 })
        {
            var gateway = await db.Owned<Gateway>(orgId).AsNoTracking().FirstOrDefaultAsync(g => g.Id == request.GatewayId, cancellationToken);
            if (gateway is null)
            {
                validation.Add("gateway_id", "no gateway of this organization has this id");
            }
            else if (gateway.VpnType != VpnConfigOperations.WireGuard)
            {
                validation.Add("gateway_id", "a mesh hub is a WireGuard gateway");
            }
        }

        var networkIds = (request.NetworkIds ?? []).Distinct(StringComparer.Ordinal).ToList();
        await GatewayAdminOperations.RequireKnownAsync(validation, "network_ids", "network", networkIds, db.Owned<GatewayNetwork>(orgId).Select(n => n.Id), cancellationToken);

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var name = request.Name!.Trim();
        if (await db.Owned<MeshHub>(orgId).AnyAsync(h => h.Name == name && h.Id != hubId, cancellationToken))
        {
            return ApiError.Conflict($"A mesh hub named '{name}' already exists.");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        MeshHub hub;
        if (hubId is null)
        {
            hub = new MeshHub { Id = Ids.New("hub", clock.GetUtcNow()), OrgId = orgId, Name = name, GatewayId = request.GatewayId!, CreatedAt = now };
            db.Add(hub);
        }
        else
        {
            var existing = await db.Owned<MeshHub>(orgId).FirstOrDefaultAsync(h => h.Id == hubId, cancellationToken);
            if (existing is null)
            {
                return ApiError.NotFound("mesh hub");
            }

            hub = existing;
            hub.Name = name;
            hub.GatewayId = request.GatewayId!;
        }

        hub.Description = request.Description;
        hub.NetworkIds = networkIds;
        hub.UpdatedAt = now;
        changes.Record(hubId is null ? VpnActions.CreateHub : VpnActions.UpdateHub, orgId, hub.Id, new { hub.Name, hub.GatewayId, hub.NetworkIds });
        await changes.CommitAsync(cancellationToken);
        return answer((await ViewsAsync(db, orgId, [hub], cancellationToken))[0]);
    }

    private static async Task<List<MeshHubView>> ViewsAsync(GatehouseDb db, string orgId, List<MeshHub> hubs, CancellationToken cancellationToken)
    {
        var gatewayIds = hubs.Select(h => h.GatewayId).Distinct().ToList();
        var gateways = await db.Owned<Gateway>(orgId).AsNoTracking().Where(g => gatewayIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, StringComparer.Ordinal, cancellationToken);
        var networks = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().ToDictionaryAsync(n => n.Id, StringComparer.Ordinal, cancellationToken);
        var hubIds = hubs.Select(h => h.Id).ToList();
        var spokes = await db.Owned<VpnConfig>(orgId).AsNoTracking().Where(c => c.HubId != null && hubIds.Contains(c.HubId) && c.RevokedAt == null)
            .GroupBy(c => c.HubId!).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
        return [.. hubs.Select(h =>
        {
            gateways.TryGetValue(h.GatewayId, out var gateway);
            return new MeshHubView(h.Id, h.Name, h.Description, h.GatewayId, h.NetworkIds,
                [.. h.NetworkIds.Where(networks.ContainsKey).Select(id => networks[id].Cidr)],
                gateway is null ? "" : $"{gateway.Hostname}:{gateway.Port}", gateway?.Status ?? GatewayStatus.Offline,
                spokes.GetValueOrDefault(h.Id), h.CreatedAt, h.UpdatedAt);
        })];
    }
}

/// <summary>The geo-fence settings of an organization and a what-if check.</summary>
public static class GeoFenceOperations
{
    public static async Task<Results<ApiOk<GeoFenceView>, ApiError>> Get(string orgId, VpnPolicy policy, GeoIpLookup geo, CancellationToken cancellationToken)
    {
        var settings = await policy.SettingsAsync(orgId, cancellationToken);
        return new ApiOk<GeoFenceView>(new GeoFenceView(settings?.GeoMode ?? GeoFencePolicy.Off, settings?.GeoCountries ?? [], geo.SourceName, settings?.UpdatedAt));
    }

    public static async Task<Results<ApiOk<GeoFenceView>, ApiError>> Put(
        string orgId, GeoFenceRequest request, GatehouseDb db, ChangeSet changes, GeoIpLookup geo, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (request.Mode is null)
        {
            validation.Add("mode", "required");
        }
        else if (!GeoFencePolicy.Modes.Contains(request.Mode))
        {
            validation.Add("mode", "must be off, allow or deny");
        }

        var countries = new List<string>();
        foreach (var (code, index) in (request.Countries ?? []).Select((c, i) => (c, i)))
        {
            var upper = code?.Trim().ToUpperInvariant() ?? "";
            if (GeoFencePolicy.IsCountryCode(upper))
            {
                countries.Add(upper);
            }
            else
            {
                validation.Add($"countries[{index}]", "must be an ISO 3166-1 alpha-2 country code such as DE");
            }
        }

        if (request.Mode is GeoFencePolicy.AllowMode or GeoFencePolicy.DenyMode && countries.Count == 0 && validation.IsValid)
        {
            validation.Add("countries", "an allow- or deny-list names at least one country");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var settings = await VpnConfigOperations.SettingsRowAsync(db, orgId, clock, cancellationToken);
        settings.GeoMode = request.Mode!;
        settings.GeoCountries = [.. countries.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        changes.Record(VpnActions.UpdateGeoFence, orgId, orgId, new { mode = settings.GeoMode, countries = settings.GeoCountries });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<GeoFenceView>(new GeoFenceView(settings.GeoMode, settings.GeoCountries, geo.SourceName, settings.UpdatedAt));
    }

    public static async Task<Results<ApiOk<GeoFenceCheckView>, ApiError>> Check(string orgId, GeoFenceCheckRequest request, VpnPolicy policy, CancellationToken cancellationToken)
    {
        if (request.Ip is null)
        {
            return ApiError.Validation("ip", "required");
        }

        if (request.Ip.Length > 64 || !IPAddress.TryParse(request.Ip.Trim(), out var address))
        {
            return ApiError.Validation("ip", "must be an IPv4 or IPv6 address");
        }

        var settings = await policy.SettingsAsync(orgId, cancellationToken);
        var decision = policy.Decide(settings, address);
        // The country is shown even with the fence off, so an operator can check the database first.
        var country = decision.Country ?? (decision.Mode == GeoFencePolicy.Off ? policy.CountryOf(address) : null);
        return new ApiOk<GeoFenceCheckView>(new GeoFenceCheckView(address.ToString(), country, decision.Allowed, decision.Mode, decision.Refusal));
    }
}
