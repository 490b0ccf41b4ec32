using System.Net;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>Administrators' routes: gateways (token shown once), networks and access rules.</summary>
public static class GatewayAdminOperations
{
    private static readonly string[] GatewayProtocols = ["udp", "tcp"];
    private static readonly string[] VpnTypes = ["openvpn", "wireguard"];

    // Gateways.

    public static async Task<Results<ApiCreated<GatewayWithToken>, ApiError>> CreateGateway(
        string orgId, CreateGatewayRequest request, GatehouseDb db, ChangeSet changes, SecretHasher hasher, VaultKeyring keyring, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 100).Optional("description", request.Description, 1000).Required("hostname", request.Hostname, 253);
        CheckGatewayFields(validation, request.Hostname, request.Port, required: true, request.Protocol, request.VpnType);
        CheckKeys(validation, request.PublicKey, request.TlsCryptKey, allowEmpty: false);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var name = request.Name!.Trim();
        if (await db.Owned<Gateway>(orgId).AnyAsync(g => g.Name == name, cancellationToken))
        {
            return ApiError.Conflict($"A gateway named '{name}' already exists.");
        }

        var token = GatewayTokens.Generate();
        var now = clock.GetUtcNow().UtcDateTime;
        var gateway = new Gateway
        {
            Id = Ids.New("gw", clock.GetUtcNow()),
            OrgId = orgId,
            Name = name,
            Description = request.Description,
            Hostname = request.Hostname!.Trim().ToLowerInvariant(),
            Port = request.Port!.Value,
            Protocol = request.Protocol!,
            VpnType = request.VpnType!,
            TokenHash = hasher.Hash(token),
            Status = GatewayStatus.Pending,
            PublicKey = request.PublicKey,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Add(gateway);
        changes.Record(GatewayActions.Create, orgId, gateway.Id,
            new { gateway.Name, gateway.Hostname, gateway.Port, gateway.Protocol, gateway.VpnType, gateway.PublicKey, tlsCrypt = request.TlsCryptKey is not null });
        await changes.RunAsync(ct => SealTlsCryptAsync(db, keyring, gateway, request.TlsCryptKey, ct), cancellationToken);
        return new ApiCreated<GatewayWithToken>(WithToken(gateway, token));
    }

    public static async Task<Results<ApiPage<GatewayView>, ApiError>> ListGateways(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (gateways, pagination) = await db.Owned<Gateway>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<GatewayView>([.. gateways.Select(View)], pagination);
    }

    public static async Task<Results<ApiOk<GatewayView>, ApiError>> GetGateway(string orgId, string gatewayId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var gateway = await db.Owned<Gateway>(orgId).AsNoTracking().FirstOrDefaultAsync(g => g.Id == gatewayId, cancellationToken);
        return gateway is null ? ApiError.NotFound("gateway") : new ApiOk<GatewayView>(View(gateway));
    }

    public static async Task<Results<ApiOk<GatewayView>, ApiError>> UpdateGateway(
        string orgId, string gatewayId, UpdateGatewayRequest request, GatehouseDb db, ChangeSet changes, VaultKeyring keyring, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("description", request.Description, 1000);
        CheckKeys(validation, request.PublicKey, request.TlsCryptKey, allowEmpty: true);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
        }

        if (request.Hostname is not null)
        {
            validation.Required("hostname", request.Hostname, 253);
        }

        CheckGatewayFields(validation, request.Hostname, request.Port, required: false, request.Protocol, request.VpnType);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var gateway = await db.Owned<Gateway>(orgId).FirstOrDefaultAsync(g => g.Id == gatewayId, cancellationToken);
        if (gateway is null)
        {
            return ApiError.NotFound("gateway");
        }

        if (request.Name is { } newName && newName.Trim() != gateway.Name)
        {
            var trimmed = newName.Trim();
            if (await db.Owned<Gateway>(orgId).AnyAsync(g => g.Name == trimmed && g.Id != gatewayId, cancellationToken))
            {
                return ApiError.Conflict($"A gateway named '{trimmed}' already exists.");
            }

            gateway.Name = trimmed;
        }

        gateway.Description = request.Description ?? gateway.Description;
        gateway.Hostname = request.Hostname?.Trim().ToLowerInvariant() ?? gateway.Hostname;
        gateway.Port = request.Port ?? gateway.Port;
        gateway.Protocol = request.Protocol ?? gateway.Protocol;
        gateway.VpnType = request.VpnType ?? gateway.VpnType;
        gateway.PublicKey = request.PublicKey ?? gateway.PublicKey;
        gateway.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        if (request.TlsCryptKey is "")
        {
            gateway.TlsCryptKey = null;
            gateway.TlsCryptKeyVersion = null;
        }

        changes.Record(GatewayActions.Update, orgId, gateway.Id,
            new { gateway.Name, gateway.Hostname, gateway.Port, gateway.Protocol, gateway.VpnType, gateway.PublicKey, tlsCryptChanged = request.TlsCryptKey is not null });
        await changes.RunAsync(ct => SealTlsCryptAsync(db, keyring, gateway, request.TlsCryptKey is "" ? null : request.TlsCryptKey, ct), cancellationToken);
        return new ApiOk<GatewayView>(View(gateway));
    }

    public static async Task<Results<ApiOk<GatewayView>, ApiError>> DeleteGateway(string orgId, string gatewayId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var gateway = await db.Owned<Gateway>(orgId).FirstOrDefaultAsync(g => g.Id == gatewayId, cancellationToken);
        if (gateway is null)
        {
            return ApiError.NotFound("gateway");
        }

        // Networks stop naming it; its token stops working with the row.
        foreach (var network in await db.Owned<GatewayNetwork>(orgId).ToListAsync(cancellationToken))
        {
            if (network.GatewayIds.Remove(gatewayId))
            {
                network.GatewayIds = [.. network.GatewayIds];
            }
        }

        db.Remove(gateway);
        changes.Record(GatewayActions.Delete, orgId, gateway.Id, new { gateway.Name });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<GatewayView>(View(gateway));
    }

    public static async Task<Results<ApiOk<GatewayWithToken>, ApiError>> RotateToken(
        string orgId, string gatewayId, GatehouseDb db, ChangeSet changes, SecretHasher hasher, TimeProvider clock, CancellationToken cancellationToken)
    {
        var gateway = await db.Owned<Gateway>(orgId).FirstOrDefaultAsync(g => g.Id == gatewayId, cancellationToken);
        if (gateway is null)
        {
            return ApiError.NotFound("gateway");
        }

        var token = GatewayTokens.Generate();
        gateway.TokenHash = hasher.Hash(token);
        gateway.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(GatewayActions.RotateToken, orgId, gateway.Id);
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<GatewayWithToken>(WithToken(gateway, token));
    }

    /// <summary>
    /// The gateways the caller may connect to: a user sees those its access rules allow it to reach
    /// something through; any other credential with <c>gateways:read</c> sees all of them.
    /// </summary>
    public static async Task<Results<ApiPage<AvailableGatewayView>, ApiError>> ListAvailable(
        string orgId, [AsParameters] PageParameters paging, HttpContext httpContext, GatehouseDb db, UserLookup users, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var principal = httpContext.RequirePrincipal();
        var gateways = await db.Owned<Gateway>(orgId).AsNoTracking().ApplyWindow(page).OrderBy(g => g.CreatedAt).ThenBy(g => g.Id).ToListAsync(cancellationToken);
        if (principal.Kind == ActorKind.UserSession && !principal.Has("gateways:write"))
        {
            var user = principal.SubjectId is { } userId ? await users.FindAsync(orgId, userId, cancellationToken) : null;
            var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
            gateways = user is null ? [] : [.. gateways.Where(g => GatewayRules.ForClient(rules, networks, g.Id, user).Any(r => r.Action == AccessPolicy.Allow))];
        }

        var sorted = page.Descending ? gateways.AsEnumerable().Reverse() : gateways;
        var window = sorted.Skip(page.Offset).Take(page.Limit).Select(g => new AvailableGatewayView(g.Id, g.Name, g.Description, g.Hostname, g.Port, g.Protocol, g.VpnType, g.Status, g.LastHeartbeat));
        return new ApiPage<AvailableGatewayView>([.. window], page.Paginate(gateways.Count));
    }

    // Networks.

    public static Task<Results<ApiCreated<NetworkView>, ApiError>> CreateNetwork(
        string orgId, NetworkRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveNetworkAsync(orgId, null, request, db, changes, clock, created => new ApiCreated<NetworkView>(created), cancellationToken);

    public static Task<Results<ApiOk<NetworkView>, ApiError>> UpdateNetwork(
        string orgId, string networkId, NetworkRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveNetworkAsync(orgId, networkId, request, db, changes, clock, updated => new ApiOk<NetworkView>(updated), cancellationToken);

    public static async Task<Results<ApiPage<NetworkView>, ApiError>> ListNetworks(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (networks, pagination) = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<NetworkView>([.. networks.Select(View)], pagination);
    }

    public static async Task<Results<ApiOk<NetworkView>, ApiError>> GetNetwork(string orgId, string networkId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var network = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().FirstOrDefaultAsync(n => n.Id == networkId, cancellationToken);
        return network is null ? ApiError.NotFound("network") : new ApiOk<NetworkView>(View(network));
    }

    public static async Task<Results<ApiOk<NetworkView>, ApiError>> DeleteNetwork(string orgId, string networkId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var network = await db.Owned<GatewayNetwork>(orgId).FirstOrDefaultAsync(n => n.Id == networkId, cancellationToken);
        if (network is null)
        {
            return ApiError.NotFound("network");
        }

        if (await db.Owned<AccessRule>(orgId).AnyAsync(r => r.NetworkId == networkId, cancellationToken))
        {
            return ApiError.Conflict("Access rules still target this network; delete or retarget them first.");
        }

        db.Remove(network);
        changes.Record(GatewayActions.DeleteNetwork, orgId, network.Id, new { network.Name, network.Cidr });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<NetworkView>(View(network));
    }

    private static async Task<Results<T, ApiError>> SaveNetworkAsync<T>(
        string orgId, string? networkId, NetworkRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, Func<NetworkView, T> answer,
        CancellationToken cancellationToken) where T : IResult
    {
        var validation = new Validation().Required("name", request.Name, 100).Required("cidr", request.Cidr, 64);
        var cidr = AccessPolicy.CanonicalCidr(request.Cidr);
        if (validation.IsValid && cidr is null)
        {
            validation.Add("cidr", "must be an IPv4 or IPv6 CIDR such as 10.1.0.0/16");
        }

        var gatewayIds = (request.GatewayIds ?? []).Distinct(StringComparer.Ordinal).ToList();
        await RequireKnownAsync(validation, "gateway_ids", "gateway", gatewayIds, db.Owned<Gateway>(orgId).Select(g => g.Id), cancellationToken);

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var name = request.Name!.Trim();
        return await changes.RunAsync<Results<T, ApiError>>(async ct =>
        {
            // Two writers checking for overlap at once must not both pass: one lock per organization.
            await LockNetworksAsync(db, orgId, ct);
            var others = await db.Owned<GatewayNetwork>(orgId).Where(n => n.Id != networkId).ToListAsync(ct);
            if (others.FirstOrDefault(n => n.Name == name) is not null)
            {
                return ApiError.Conflict($"A network named '{name}' already exists.");
            }

            if (others.FirstOrDefault(n => AccessPolicy.Overlap(n.Cidr, cidr!)) is { } overlapping)
            {
                return ApiError.Validation("cidr", $"overlaps network {overlapping.Id} ({overlapping.Cidr})");
            }

            var now = clock.GetUtcNow().UtcDateTime;
            GatewayNetwork network;
            if (networkId is null)
            {
                network = new GatewayNetwork { Id = Ids.New("net", clock.GetUtcNow()), OrgId = orgId, Name = name, Cidr = cidr!, GatewayIds = gatewayIds, CreatedAt = now, UpdatedAt = now };
                db.Add(network);
                changes.Record(GatewayActions.CreateNetwork, orgId, network.Id, new { network.Name, network.Cidr, network.GatewayIds });
            }
            else
            {
                var existing = await db.Owned<GatewayNetwork>(orgId).FirstOrDefaultAsync(n => n.Id == networkId, ct);
                if (existing is null)
                {
                    return ApiError.NotFound("network");
                }

                network = existing;
                network.Name = name;
                network.Cidr = cidr!;
                network.GatewayIds = gatewayIds;
                network.UpdatedAt = now;
                changes.Record(GatewayActions.UpdateNetwork, orgId, network.Id, new { network.Name, network.Cidr, network.GatewayIds });
            }

            return answer(View(network));
        }, cancellationToken);
    }

    private static async Task LockNetworksAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        // SQLite: the transaction's write lock already orders writers.
        if (db.IsPostgres)
        {
            var key = "gateway-networks:" + orgId;
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({key}))", cancellationToken);
        }
    }

    // Access rules.

    public static Task<Results<ApiCreated<AccessRuleView>, ApiError>> CreateRule(
        string orgId, AccessRuleRequest request, GatehouseDb db, ChangeSet changes, UserLookup users, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveRuleAsync(orgId, null, request, db, changes, users, clock, view => new ApiCreated<AccessRuleView>(view), cancellationToken);

    public static Task<Results<ApiOk<AccessRuleView>, ApiError>> UpdateRule(
        string orgId, string accessRuleId, AccessRuleRequest request, GatehouseDb db, ChangeSet changes, UserLookup users, TimeProvider clock, CancellationToken cancellationToken) =>
        SaveRuleAsync(orgId, accessRuleId, request, db, changes, users, clock, view => new ApiOk<AccessRuleView>(view), cancellationToken);

    public static async Task<Results<ApiPage<AccessRuleView>, ApiError>> ListRules(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (rules, pagination) = await db.Owned<AccessRule>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<AccessRuleView>([.. rules.Select(View)], pagination);
    }

    public static async Task<Results<ApiOk<AccessRuleView>, ApiError>> GetRule(string orgId, string accessRuleId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var rule = await db.Owned<AccessRule>(orgId).AsNoTracking().FirstOrDefaultAsync(r => r.Id == accessRuleId, cancellationToken);
        return rule is null ? ApiError.NotFound("access rule") : new ApiOk<AccessRuleView>(View(rule));
    }

    public static async Task<Results<ApiOk<AccessRuleView>, ApiError>> DeleteRule(string orgId, string accessRuleId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var rule = await db.Owned<AccessRule>(orgId).FirstOrDefaultAsync(r => r.Id == accessRuleId, cancellationToken);
        if (rule is null)
        {
            return ApiError.NotFound("access rule");
        }

        db.Remove(rule);
        changes.Record(GatewayActions.DeleteRule, orgId, rule.Id, new { rule.Name });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<AccessRuleView>(View(rule));
    }

    private static async Task<Results<T, ApiError>> SaveRuleAsync<T>(
        string orgId, string? ruleId, AccessRuleRequest request, GatehouseDb db, ChangeSet changes, UserLookup users, TimeProvider clock,
        Func<AccessRuleView, T> answer, CancellationToken cancellationToken) where T : IResult
    {
        var validation = new Validation().Required("name", request.Name, 100);
        var subjects = (request.Subjects ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (request.Subjects is null)
        {
            validation.Add("subjects", "required");
        }
        else if (subjects.Count == 0)
        {
            validation.Add("subjects", "must name at least one of user:<id>, group:<role name> or *");
        }

        var userIds = new List<string>();
        for (var i = 0; i < subjects.Count; i++)
        {
            var subject = subjects[i];
            if (subject == AccessPolicy.Everyone || (subject.StartsWith("group:", StringComparison.Ordinal) && subject.Length is > 6 and <= 106))
            {
                continue;
            }

            if (subject.StartsWith("user:", StringComparison.Ordinal) && subject.Length is > 5 and <= 69)
            {
                userIds.Add(subject[5..]);
                continue;
            }

            validation.Add($"subjects[{i}]", "must be user:<id>, group:<role name> or *");
        }

        if (userIds.Count > 0)
        {
            var existing = await users.ExistingAsync(orgId, userIds, cancellationToken);
            for (var i = 0; i < subjects.Count; i++)
            {
                if (subjects[i].StartsWith("user:", StringComparison.Ordinal) && !existing.Contains(subjects[i][5..]))
                {
                    validation.Add($"subjects[{i}]", "no user of this organization has this id");
                }
            }
        }

        string? cidr = null;
        if ((request.NetworkId is null) == (request.Cidr is null))
        {
            validation.Add("network_id", "give exactly one of network_id and cidr");
        }
        else if (request.Cidr is not null && (cidr = AccessPolicy.CanonicalCidr(request.Cidr)) is null)
        {
            validation.Add("cidr", "must be an IPv4 or IPv6 CIDR such as 10.1.0.0/16");
        }
        else if (request.NetworkId is not null && !await db.Owned<GatewayNetwork>(orgId).AnyAsync(n => n.Id == request.NetworkId, cancellationToken))
        {
            validation.Add("network_id", "no network of this organization has this id");
        }

        var ports = request.Ports is null or { Count: 0 } ? [AccessPolicy.Everyone] : request.Ports.Distinct(StringComparer.Ordinal).ToList();
        for (var i = 0; i < ports.Count; i++)
        {
            if (ports[i] != AccessPolicy.Everyone && !AccessPolicy.TryParsePorts(ports[i], out _, out _))
            {
                validation.Add($"ports[{i}]", "must be *, a port (443) or a range (8000-8100) within 1-65535");
            }
        }

        var protocol = request.Protocol ?? "any";
        if (!AccessPolicy.Protocols.Contains(protocol))
        {
            validation.Add("protocol", "must be tcp, udp, icmp or any");
        }

        if (request.Action is null)
        {
            validation.Add("action", "required");
        }
        else if (request.Action is not (AccessPolicy.Allow or AccessPolicy.Deny))
        {
            validation.Add("action", "must be allow or deny");
        }

        if (request.Priority is < 0 or > 100_000)
        {
            validation.Add("priority", "must be between 0 and 100000");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var name = request.Name!.Trim();
        if (await db.Owned<AccessRule>(orgId).AnyAsync(r => r.Name == name && r.Id != ruleId, cancellationToken))
        {
            return ApiError.Conflict($"An access rule named '{name}' already exists.");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        AccessRule rule;
        if (ruleId is null)
        {
            rule = new AccessRule { Id = Ids.New("acr", clock.GetUtcNow()), OrgId = orgId, Name = name, Protocol = protocol, Action = request.Action!, CreatedAt = now };
            db.Add(rule);
        }
        else
        {
            var existing = await db.Owned<AccessRule>(orgId).FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
            if (existing is null)
            {
                return ApiError.NotFound("access rule");
            }

            rule = existing;
            rule.Name = name;
            rule.Protocol = protocol;
            rule.Action = request.Action!;
        }

        rule.Subjects = subjects;
        rule.NetworkId = request.NetworkId;
        rule.Cidr = cidr;
        rule.Ports = ports;
        rule.Priority = request.Priority ?? 100;
        rule.UpdatedAt = now;
        changes.Record(ruleId is null ? GatewayActions.CreateRule : GatewayActions.UpdateRule, orgId, rule.Id,
            new { rule.Name, rule.Subjects, rule.NetworkId, rule.Cidr, rule.Ports, rule.Protocol, rule.Action, rule.Priority });
        await changes.CommitAsync(cancellationToken);
        return answer(View(rule));
    }

    /// <summary>Adds <c>field[i]</c> for each id the organization does not have (<paramref name="ownedIds"/> are its ids of that kind).</summary>
    internal static async Task RequireKnownAsync(
        Validation validation, string field, string kind, IReadOnlyList<string> ids, IQueryable<string> ownedIds, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        var known = await ownedIds.Where(id => ids.Contains(id)).ToListAsync(cancellationToken);
        for (var index = 0; index < ids.Count; index++)
        {
            if (!known.Contains(ids[index]))
            {
                validation.Add($"{field}[{index}]", $"no {kind} of this organization has this id");
            }
        }
    }

    private static void CheckKeys(Validation validation, string? publicKey, string? tlsCryptKey, bool allowEmpty)
    {
        if (publicKey is not null && !VpnConfigFiles.IsWireGuardKey(publicKey))
        {
            validation.Add("public_key", "must be a WireGuard public key: 32 bytes in base64 (44 characters)");
        }

        if (tlsCryptKey is not null && !(allowEmpty && tlsCryptKey.Length == 0) && !IsTlsCryptKey(tlsCryptKey))
        {
            validation.Add("tls_crypt_key", "must be an OpenVPN static key in PEM (-----BEGIN OpenVPN Static key V1-----), at most 4096 characters");
        }
    }

    private static bool IsTlsCryptKey(string text) =>
        text.Length <= 4096 && text.Trim().StartsWith("-----BEGIN OpenVPN Static key V1-----", StringComparison.Ordinal)
        && text.Trim().EndsWith("-----END OpenVPN Static key V1-----", StringComparison.Ordinal);

    /// <summary>Seals a new tls-crypt key under the organization's data key, inside the change set's transaction (null: nothing to seal).</summary>
    private static async Task SealTlsCryptAsync(GatehouseDb db, VaultKeyring keyring, Gateway gateway, string? tlsCryptKey, CancellationToken cancellationToken)
    {
        if (tlsCryptKey is null)
        {
            return;
        }

        await DataKeyLock.ForSealingAsync(db, gateway.OrgId, cancellationToken);
        var ring = await keyring.ForOrgAsync(db, gateway.OrgId, cancellationToken);
        gateway.TlsCryptKey = ring.Seal(System.Text.Encoding.UTF8.GetBytes(tlsCryptKey.Trim()), TlsCryptAad(gateway.OrgId, gateway.Id));
        gateway.TlsCryptKeyVersion = (int)ring.CurrentVersion;
    }

    /// <summary>The tls-crypt key of a gateway, opened for a config being rendered.</summary>
    internal static async Task<string> OpenTlsCryptAsync(GatehouseDb db, VaultKeyring keyring, string orgId, string gatewayId, byte[] sealedKey, CancellationToken cancellationToken)
    {
        var ring = await keyring.LoadAsync(db, orgId, cancellationToken)
            ?? throw new System.Security.Cryptography.CryptographicException("The organization's data keys are gone; the tls-crypt key cannot be opened.");
        return System.Text.Encoding.UTF8.GetString(ring.Open(sealedKey, TlsCryptAad(orgId, gatewayId)));
    }

    /// <summary>Binds a sealed tls-crypt key to its gateway: copied to another row, it does not open.</summary>
    private static byte[] TlsCryptAad(string orgId, string gatewayId) => AssociatedData.Of("gatehouse/gateway-tls-crypt", orgId, gatewayId);

    private static void CheckGatewayFields(Validation validation, string? hostname, int? port, bool required, string? protocol, string? vpnType)
    {
        if (hostname is not null && !IsHostname(hostname.Trim()))
        {
            validation.Add("hostname", "must be a DNS name or an IP address");
        }

        if (required && port is null)
        {
            validation.Add("port", "required");
        }
        else if (port is < 1 or > 65535)
        {
            validation.Add("port", "must be between 1 and 65535");
        }

        if (required && protocol is null)
        {
            validation.Add("protocol", "required");
        }
        else if (protocol is not null && !GatewayProtocols.Contains(protocol))
        {
            validation.Add("protocol", "must be udp or tcp");
        }

        if (required && vpnType is null)
        {
            validation.Add("vpn_type", "required");
        }
        else if (vpnType is not null && !VpnTypes.Contains(vpnType))
        {
            validation.Add("vpn_type", "must be openvpn or wireguard");
        }
    }

    /// <summary>An IP address, or a DNS name of letters, digits and hyphens in dot-separated labels.</summary>
    internal static bool IsHostname(string text) =>
        IPAddress.TryParse(text, out _)
        || (text.Length is > 0 and <= 253 && text.Split('.').All(label =>
            label.Length is > 0 and <= 63 && !label.StartsWith('-') && !label.EndsWith('-') && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')));

    internal static GatewayView View(Gateway g) =>
        new(g.Id, g.Name, g.Description, g.Hostname, g.Port, g.Protocol, g.VpnType, g.Status, g.LastHeartbeat, g.AgentVersion, g.ConnectedClients, g.Load, g.CreatedAt, g.UpdatedAt, g.PublicKey,
            g.TlsCryptKey is not null);

    private static GatewayWithToken WithToken(Gateway g, string token) =>
        new(g.Id, g.Name, g.Description, g.Hostname, g.Port, g.Protocol, g.VpnType, g.Status, g.LastHeartbeat, g.CreatedAt, g.UpdatedAt, token);

    private static NetworkView View(GatewayNetwork n) => new(n.Id, n.Name, n.Cidr, n.GatewayIds, n.CreatedAt, n.UpdatedAt);

    private static AccessRuleView View(AccessRule r) =>
        new(r.Id, r.Name, r.Subjects, r.NetworkId, r.Cidr, r.Ports, r.Protocol, r.Action, r.Priority, r.CreatedAt, r.UpdatedAt);
}

/// <summary>What a gateway's status can be.</summary>
public static class GatewayStatus
{
    public const string Pending = "pending";
    public const string Online = "online";
    public const string Offline = "offline";
}

/// <summary>Loads an organization's rules and turns them into what one gateway enforces.</summary>
public static class GatewayRules
{
    public static async Task<(List<AccessRule> Rules, Dictionary<string, GatewayNetwork> Networks)> LoadAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var rules = await db.Owned<AccessRule>(orgId).AsNoTracking().ToListAsync(cancellationToken);
        var networks = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().ToDictionaryAsync(n => n.Id, StringComparer.Ordinal, cancellationToken);
        return (rules, networks);
    }

    /// <summary>The rules one user is subject to at one gateway, in enforcement order (empty for a disabled user).</summary>
    public static List<EnforcedRule> ForClient(IEnumerable<AccessRule> rules, IReadOnlyDictionary<string, GatewayNetwork> networks, string gatewayId, UserSummary user) =>
        [.. AccessPolicy.Ordered(rules.Where(r => AccessPolicy.AppliesTo(r, user)))
            .Select(r => (Rule: r, Cidr: AccessPolicy.TargetAt(r, gatewayId, networks)))
            .Where(p => p.Cidr is not null)
            .Select(p => new EnforcedRule(p.Cidr!, p.Rule.Ports, p.Rule.Protocol, p.Rule.Action))];

    /// <summary>Every rule that reaches one gateway, in enforcement order, with its subjects.</summary>
    public static List<EnforcedSubjectRule> ForGateway(IEnumerable<AccessRule> rules, IReadOnlyDictionary<string, GatewayNetwork> networks, string gatewayId) =>
        [.. AccessPolicy.Ordered(rules)
            .Select(r => (Rule: r, Cidr: AccessPolicy.TargetAt(r, gatewayId, networks)))
            .Where(p => p.Cidr is not null)
            .Select(p => new EnforcedSubjectRule(p.Rule.Subjects, p.Cidr!, p.Rule.Ports, p.Rule.Protocol, p.Rule.Action, p.Rule.Priority))];
}
