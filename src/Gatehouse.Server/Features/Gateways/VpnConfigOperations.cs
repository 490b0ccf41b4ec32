using System.Security.Cryptography;
using System.Text;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Devices;
using Gatehouse.Server.Features.Pki;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>The services of the VPN config routes, injected as one parameter.</summary>
public sealed class VpnConfigServices(
    GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities, VaultKeyring keyring, UserLookup users, DeviceVerification devices,
    VpnPolicy policy, RateLimiter limiter, GatewayOptions options, PkiOptions pki, TimeProvider clock)
{
    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public OrgCertificateAuthorities Authorities => authorities;
    public VaultKeyring Keyring => keyring;
    public UserLookup Users => users;
    public DeviceVerification Devices => devices;
    public VpnPolicy Policy => policy;
    public RateLimiter Limiter => limiter;
    public GatewayOptions Options => options;
    public PkiOptions Pki => pki;
    public DateTime Now => clock.GetUtcNow().UtcDateTime;
    public TimeProvider Clock => clock;
}

/// <summary>
/// VPN configs (docs/vpn-configs.md): generated for a user and a gateway, downloaded once, listed
/// and revoked. The key material is made at the download and never stored.
/// </summary>
public static class VpnConfigOperations
{
    public const string OpenVpn = "openvpn";
    public const string WireGuard = "wireguard";
    private const int MaxAllocationAttempts = 40;

    public static async Task<Results<ApiCreated<GeneratedConfigView>, ApiError>> Generate(
        string orgId, GenerateConfigRequest request, HttpContext httpContext, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var principal = httpContext.RequirePrincipal();
        var validation = new Validation().Required("gateway_id", request.GatewayId, 64).Optional("user_id", request.UserId, 64);
        if (request.Protocol is null)
        {
            validation.Add("protocol", "required");
        }
        else if (request.Protocol is not (OpenVpn or WireGuard))
        {
            validation.Add("protocol", "must be openvpn or wireguard");
        }

        if (request.PublicKey is not null && !VpnConfigFiles.IsWireGuardKey(request.PublicKey))
        {
            validation.Add("public_key", "must be a WireGuard public key: 32 bytes in base64 (44 characters)");
        }
        else if (request.PublicKey is not null && request.Protocol == OpenVpn)
        {
            validation.Add("public_key", "only a WireGuard config takes a public key");
        }

        string? userId;
        if (principal.Kind == ActorKind.UserSession)
        {
            userId = principal.SubjectId;
            if (request.UserId is not null && request.UserId != userId)
            {
                validation.Add("user_id", "a user session generates its own configs only");
            }
        }
        else
        {
            if (!principal.Has("configs:write"))
            {
                return ApiError.Forbidden("configs:write");
            }

            userId = request.UserId;
            if (userId is null)
            {
                validation.Add("user_id", "required when the caller is not a user session");
            }
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var user = await services.Users.FindAsync(orgId, userId!, cancellationToken);
        if (user is null || user.Disabled)
        {
            return ApiError.Validation("user_id", "no active user of this organization has this id");
        }

        if (await ConsumeGenerationAsync(services, orgId, user.Id, cancellationToken) is { } limited)
        {
            return limited;
        }

        var settings = await services.Policy.SettingsAsync(orgId, cancellationToken);
        var geo = services.Policy.Decide(settings, httpContext.Connection.RemoteIpAddress);
        if (!geo.Allowed)
        {
            return new ApiError(ErrorCodes.Forbidden, "The organization's geo-fence does not allow VPN configs from this location.", geo.Details);
        }

        string? deviceId = null;
        if (settings?.RequireDevice == true)
        {
            deviceId = principal.Kind == ActorKind.UserSession
                ? await services.Devices.VerifiedDeviceAsync(orgId, user.Id, principal.CredentialId, cancellationToken)
                : null;
            if (deviceId is null)
            {
                return new ApiError(ErrorCodes.Forbidden, "The organization requires a session established through device verification for VPN configs.",
                    new Dictionary<string, object?> { ["reason"] = "device_verification_required" });
            }
        }

        var db = services.Db;
        var gateway = await db.Owned<Gateway>(orgId).AsNoTracking().FirstOrDefaultAsync(g => g.Id == request.GatewayId, cancellationToken);
        if (gateway is null)
        {
            return ApiError.NotFound("gateway");
        }

        if (gateway.VpnType != request.Protocol)
        {
            return ApiError.Validation("protocol", $"the gateway speaks {gateway.VpnType}");
        }

        var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
        if (!GatewayRules.ForClient(rules, networks, gateway.Id, user).Any(r => r.Action == AccessPolicy.Allow))
        {
            return new ApiError(ErrorCodes.Forbidden, "No access rule allows this user anything through this gateway.",
                new Dictionary<string, object?> { ["reason"] = "no_rule" });
        }

        return await CreateAsync(orgId, user.Id, gateway, request.Protocol!, request.PublicKey, deviceId, hub: null, spokeName: null, localCidrs: [], networks.Values, services, cancellationToken);
    }

    /// <summary>Records a config (allocating a WireGuard address, retried on a collision with a concurrent generation) and answers where to download it.</summary>
    internal static async Task<Results<ApiCreated<GeneratedConfigView>, ApiError>> CreateAsync(
        string orgId, string ownerId, Gateway gateway, string protocol, string? publicKey, string? deviceId, MeshHub? hub, string? spokeName, List<string> localCidrs,
        IEnumerable<GatewayNetwork> networks, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        GatewayNetwork? pool = null;
        if (protocol == WireGuard)
        {
            if (gateway.PublicKey is null)
            {
                return ApiError.Validation("gateway_id", "the gateway has no WireGuard public key yet (set it, or let its agent report it with a heartbeat)");
            }

            pool = networks.Where(n => n.GatewayIds.Contains(gateway.Id)).OrderBy(n => n.CreatedAt).ThenBy(n => n.Id, StringComparer.Ordinal).FirstOrDefault();
            if (pool is null)
            {
                return ApiError.Validation("gateway_id", "no network lists this gateway, so there is no address pool for its clients");
            }

            if (publicKey is not null && await db.Owned<VpnConfig>(orgId).AnyAsync(c => c.PublicKey == publicKey && c.RevokedAt == null, cancellationToken))
            {
                return ApiError.Conflict("A live config already registers this public key.");
            }
        }

        for (var attempt = 0; ; attempt++)
        {
            string? address = null;
            if (pool is not null)
            {
                var used = (await db.Owned<VpnConfig>(orgId).Where(c => c.NetworkId == pool.Id && c.Address != null).Select(c => c.Address!).ToListAsync(cancellationToken))
                    .ToHashSet(StringComparer.Ordinal);
                var free = AddressPool.Free(pool.Cidr, used, 64);
                if (free.Count == 0)
                {
                    return ApiError.Conflict($"The address pool of network {pool.Id} ({pool.Cidr}) is exhausted; revoke unused configs.");
                }

                // A random pick among the lowest free addresses: concurrent generations rarely collide, and a collision is retried.
                address = free[RandomNumberGenerator.GetInt32(Math.Min(free.Count, 16))].ToString();
            }

            var now = services.Clock.GetUtcNow();
            var config = new VpnConfig
            {
                Id = Ids.New("cfg", now),
                OrgId = orgId,
                UserId = ownerId,
                GatewayId = gateway.Id,
                Protocol = protocol,
                DeviceId = deviceId,
                HubId = hub?.Id,
                SpokeName = spokeName,
                LocalCidrs = localCidrs,
                NetworkId = pool?.Id,
                Address = address,
                PublicKey = publicKey,
                CreatedAt = now.UtcDateTime,
                ExpiresAt = now.UtcDateTime.AddSeconds(services.Options.ConfigDownloadTtlSeconds),
            };
            db.Add(config);
            services.Changes.Record(hub is null ? VpnActions.Generate : VpnActions.AddSpoke, orgId, config.Id,
                new { userId = ownerId, gatewayId = gateway.Id, protocol, address, deviceId, hubId = hub?.Id, spokeName, clientKey = publicKey is not null });
            try
            {
                await services.Changes.CommitAsync(cancellationToken);
            }
            catch (DbUpdateException) when (address is not null && attempt < MaxAllocationAttempts)
            {
                // Another generation took the address first (the unique index said so): pick again.
                db.Entry(config).State = EntityState.Detached;
                continue;
            }

            return new ApiCreated<GeneratedConfigView>(new GeneratedConfigView(config.Id, "/api/v1/configs/download/" + config.Id, config.ExpiresAt));
        }
    }

    public static async Task<Results<FileContentHttpResult, ApiError>> Download(
        string orgId, string configId, HttpContext httpContext, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var principal = httpContext.RequirePrincipal();
        var db = services.Db;
        var found = await db.Owned<VpnConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == configId, cancellationToken);
        if (found is null || !MayUse(principal, found))
        {
            return ApiError.NotFound("config");
        }

        if (found.DownloadedAt is not null || found.RevokedAt is not null || found.ExpiresAt <= services.Now)
        {
            return new ApiError(ErrorCodes.NotFound, "The config was already downloaded, or its download window passed; generate a new one.");
        }

        if (found.DeviceId is { } deviceId && !await services.Devices.IsActiveAsync(orgId, deviceId, cancellationToken))
        {
            return new ApiError(ErrorCodes.Forbidden, "The device this config was generated through is revoked.", new Dictionary<string, object?> { ["reason"] = "device_revoked" });
        }

        var gateway = await db.Owned<Gateway>(orgId).AsNoTracking().FirstOrDefaultAsync(g => g.Id == found.GatewayId, cancellationToken);
        if (gateway is null)
        {
            return ApiError.NotFound("config");
        }

        var rendered = await services.Changes.RunAsync<Results<FileContentHttpResult, ApiError>>(async ct =>
        {
            // Read again inside the transaction: of two downloads only one finds it pending (the other
            // then fails on the row version), so the file exists once.
            var config = await db.Owned<VpnConfig>(orgId).FirstOrDefaultAsync(c => c.Id == configId, ct);
            if (config is null || config.DownloadedAt is not null || config.RevokedAt is not null)
            {
                return new ApiError(ErrorCodes.NotFound, "The config was already downloaded, or its download window passed; generate a new one.");
            }

            config.DownloadedAt = services.Now;
            string text;
            if (config.Protocol == OpenVpn)
            {
                text = await RenderOpenVpnAsync(orgId, config, gateway, services, ct);
            }
            else
            {
                text = await RenderWireGuardAsync(orgId, config, gateway, services, ct);
            }

            services.Changes.Record(VpnActions.Download, orgId, config.Id,
                new { config.UserId, config.GatewayId, config.Protocol, serial = config.Serial, publicKey = config.PublicKey });
            var name = Slug(gateway.Name) + (config.Protocol == OpenVpn ? ".ovpn" : ".conf");
            return TypedResults.File(Encoding.UTF8.GetBytes(text), config.Protocol == OpenVpn ? "application/x-openvpn-profile" : "text/plain; charset=utf-8", name);
        }, cancellationToken);
        httpContext.Response.Headers.CacheControl = "no-store";
        return rendered;
    }

    public static async Task<Results<ApiPage<VpnConfigView>, ApiError>> ListOwn(
        string orgId, [AsParameters] PageParameters paging, HttpContext httpContext, GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        var principal = httpContext.RequirePrincipal();
        if (principal.Kind != ActorKind.UserSession && !principal.Has("configs:read"))
        {
            return ApiError.Forbidden("configs:read");
        }

        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<VpnConfig>(orgId).AsNoTracking().ApplyWindow(page);
        if (principal.Kind == ActorKind.UserSession)
        {
            query = query.Where(c => c.UserId == principal.SubjectId);
        }

        return await PageAsync(query, page, clock, cancellationToken);
    }

    public static async Task<Results<ApiPage<VpnConfigView>, ApiError>> ListAll(
        string orgId, [AsParameters] PageParameters paging, [FromQuery(Name = "user_id")] string? userId, [FromQuery(Name = "gateway_id")] string? gatewayId,
        GatehouseDb db, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<VpnConfig>(orgId).AsNoTracking().ApplyWindow(page);
        if (userId is not null)
        {
            query = query.Where(c => c.UserId == userId);
        }

        if (gatewayId is not null)
        {
            query = query.Where(c => c.GatewayId == gatewayId);
        }

        return await PageAsync(query, page, clock, cancellationToken);
    }

    public static async Task<Results<ApiOk<VpnConfigView>, ApiError>> DeleteOwn(
        string orgId, string configId, HttpContext httpContext, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var principal = httpContext.RequirePrincipal();
        var config = await services.Db.Owned<VpnConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == configId, cancellationToken);
        if (config is null || !MayUse(principal, config))
        {
            return ApiError.NotFound("config");
        }

        return await RevokeAsync(orgId, configId, "cessation_of_operation", services, cancellationToken);
    }

    public static async Task<Results<ApiOk<VpnConfigView>, ApiError>> AdminRevoke(
        string orgId, string configId, RevokeConfigRequest request, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var reason = request.Reason is null ? "unspecified" : RevocationReasons.Normalize(request.Reason);
        if (reason is null)
        {
            return ApiError.Validation("reason", "must be one of " + string.Join(", ", RevocationReasons.ByName.Keys));
        }

        return await RevokeAsync(orgId, configId, reason, services, cancellationToken);
    }

    public static async Task<Results<ApiOk<ConfigSettingsView>, ApiError>> GetSettings(string orgId, VpnPolicy policy, CancellationToken cancellationToken)
    {
        var settings = await policy.SettingsAsync(orgId, cancellationToken);
        return new ApiOk<ConfigSettingsView>(new ConfigSettingsView(settings?.RequireDevice ?? false, settings?.UpdatedAt));
    }

    public static async Task<Results<ApiOk<ConfigSettingsView>, ApiError>> PutSettings(
        string orgId, ConfigSettingsRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request.RequireDevice is null)
        {
            return ApiError.Validation("require_device", "required");
        }

        var settings = await SettingsRowAsync(db, orgId, clock, cancellationToken);
        settings.RequireDevice = request.RequireDevice.Value;
        changes.Record(VpnActions.UpdateSettings, orgId, orgId, new { requireDevice = settings.RequireDevice });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<ConfigSettingsView>(new ConfigSettingsView(settings.RequireDevice, settings.UpdatedAt));
    }

    /// <summary>The organization's settings row, tracked, created (everything off) when it has none.</summary>
    internal static async Task<VpnSettings> SettingsRowAsync(GatehouseDb db, string orgId, TimeProvider clock, CancellationToken cancellationToken)
    {
        var settings = await db.Owned<VpnSettings>(orgId).FirstOrDefaultAsync(cancellationToken);
        if (settings is null)
        {
            settings = new VpnSettings { OrgId = orgId, GeoMode = GeoFencePolicy.Off };
            db.Add(settings);
        }

        settings.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        return settings;
    }

    /// <summary>Revokes a config: its certificate (with a new CRL) or its WireGuard peer, and releases its address. Already revoked: unchanged.</summary>
    private static async Task<Results<ApiOk<VpnConfigView>, ApiError>> RevokeAsync(
        string orgId, string configId, string reason, VpnConfigServices services, CancellationToken cancellationToken)
    {
        var db = services.Db;
        var revoked = await services.Changes.RunAsync(async ct =>
        {
            var config = await db.Owned<VpnConfig>(orgId).FirstOrDefaultAsync(c => c.Id == configId, ct);
            if (config is null)
            {
                return null;
            }

            if (config.RevokedAt is null)
            {
                await RevokeTrackedAsync(db, orgId, config, reason, services.Authorities, services.Now, ct);
                services.Changes.Record(VpnActions.Revoke, orgId, config.Id, new { config.UserId, config.GatewayId, config.Serial, config.PublicKey, reason });
            }

            return config;
        }, cancellationToken);
        return revoked is null ? ApiError.NotFound("config") : new ApiOk<VpnConfigView>(View(revoked, services.Now));
    }

    /// <summary>Marks a tracked config revoked, releases its address and revokes its certificate (a new CRL) in the caller's transaction.</summary>
    internal static async Task RevokeTrackedAsync(
        GatehouseDb db, string orgId, VpnConfig config, string reason, OrgCertificateAuthorities authorities, DateTime now, CancellationToken cancellationToken)
    {
        config.RevokedAt = now;
        config.RevocationReason = reason;
        config.Address = null;
        if (config.Serial is { } serial)
        {
            await authorities.RevokeSerialAsync(db, orgId, serial, reason, cancellationToken);
        }
    }

    private static async Task<string> RenderOpenVpnAsync(string orgId, VpnConfig config, Gateway gateway, VpnConfigServices services, CancellationToken cancellationToken)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var user = await services.Users.FindAsync(orgId, config.UserId, cancellationToken);
        var publicKey = System.Security.Cryptography.X509Certificates.PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        var signed = await services.Authorities.IssueAsync(services.Db, orgId, publicKey, user?.Email ?? config.UserId, CertificatePurpose.Client,
            TimeSpan.FromHours(services.Options.ConfigCertificateHours), config.UserId, null, null, cancellationToken);
        services.Changes.Record(PkiActions.Issue, orgId, signed.Serial, new { kind = "client", configId = config.Id, userId = config.UserId, notAfter = signed.NotAfter });
        config.Serial = signed.Serial;
        config.CertificateExpiresAt = signed.NotAfter;
        string? tlsCrypt = null;
        if (gateway.TlsCryptKey is { } sealedKey)
        {
            tlsCrypt = await GatewayAdminOperations.OpenTlsCryptAsync(services.Db, services.Keyring, orgId, gateway.Id, sealedKey, cancellationToken);
        }

        return VpnConfigFiles.OpenVpn(gateway.Hostname, gateway.Port, gateway.Protocol, signed.CaPem, signed.CertificatePem, key.ExportPkcs8PrivateKeyPem(), tlsCrypt);
    }

    private static async Task<string> RenderWireGuardAsync(string orgId, VpnConfig config, Gateway gateway, VpnConfigServices services, CancellationToken cancellationToken)
    {
        string? privateKey = null;
        if (config.PublicKey is null)
        {
            (privateKey, config.PublicKey) = VpnConfigFiles.NewWireGuardKeyPair();
        }

        var (rules, networks) = await GatewayRules.LoadAsync(services.Db, orgId, cancellationToken);
        List<string> allowed;
        if (config.HubId is not null)
        {
            var hub = await services.Db.Owned<MeshHub>(orgId).AsNoTracking().FirstOrDefaultAsync(h => h.Id == config.HubId, cancellationToken);
            allowed = MeshHubOperations.RoutedCidrs(hub, networks, await MeshHubOperations.SpokeCidrsAsync(services.Db, orgId, config.HubId, config.Id, cancellationToken));
        }
        else
        {
            var user = await services.Users.FindAsync(orgId, config.UserId, cancellationToken);
            allowed = user is null ? [] : AllowedCidrs(GatewayRules.ForClient(rules, networks, gateway.Id, user));
        }

        return VpnConfigFiles.WireGuard(privateKey, AddressPool.HostRoute(config.Address!), gateway.PublicKey!, gateway.Hostname, gateway.Port, allowed);
    }

    /// <summary>The destinations a client routes into the tunnel: every CIDR an allow rule reaches (the gateway still enforces ports, protocols and denies).</summary>
    internal static List<string> AllowedCidrs(IEnumerable<EnforcedRule> rules) =>
        [.. rules.Where(r => r.Action == AccessPolicy.Allow).Select(r => r.Cidr).Distinct(StringComparer.Ordinal)];

    /// <summary>A user session uses its own configs; another credential needs <c>configs:write</c>, or to be the one that created it (a spoke).</summary>
    private static bool MayUse(Principal principal, VpnConfig config) =>
        principal.Kind == ActorKind.UserSession ? principal.SubjectId == config.UserId
            : principal.Actor.Id == config.UserId || principal.Has("configs:write");

    private static async Task<Results<ApiPage<VpnConfigView>, ApiError>> PageAsync(IQueryable<VpnConfig> query, PageQuery page, TimeProvider clock, CancellationToken cancellationToken)
    {
        var total = await query.LongCountAsync(cancellationToken);
        var configs = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        return new ApiPage<VpnConfigView>([.. configs.Select(c => View(c, now))], page.Paginate(total));
    }

    internal static string StatusOf(VpnConfig c, DateTime now) =>
        c.RevokedAt is not null ? "revoked"
        : c.DownloadedAt is null ? (c.ExpiresAt <= now ? "expired" : "pending")
        : c.CertificateExpiresAt is { } notAfter && notAfter <= now ? "expired"
        : "active";

    internal static VpnConfigView View(VpnConfig c, DateTime now) =>
        new(c.Id, c.UserId, c.GatewayId, c.Protocol, StatusOf(c, now), c.DeviceId, c.HubId, c.Address, c.PublicKey, c.Serial, c.CreatedAt, c.ExpiresAt, c.DownloadedAt,
            c.CertificateExpiresAt, c.RevokedAt, c.RevocationReason);

    private static async Task<ApiError?> ConsumeGenerationAsync(VpnConfigServices services, string orgId, string userId, CancellationToken cancellationToken)
    {
        var rule = new RateLimitRule("config_generation_per_minute", services.Options.ConfigGenerationPerMinute, TimeSpan.FromMinutes(1));
        var decision = await services.Limiter.TryConsumeAsync($"vpn-config:{orgId}:{userId}", [rule], 1, cancellationToken);
        if (decision.Allowed)
        {
            return null;
        }

        var retryAfter = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter(services.Limiter.Now).TotalSeconds));
        var error = new ApiError(ErrorCodes.RateLimitExceeded, $"At most {rule.Limit} VPN configs per minute per user.",
            new Dictionary<string, object?> { ["window"] = rule.Name, ["limit"] = rule.Limit, ["windowSeconds"] = 60, ["retryAfterSeconds"] = retryAfter });
        error.Headers["Retry-After"] = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return error;
    }

    private static string Slug(string name)
    {
        var slug = new string([.. name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        return slug.Length == 0 ? "gatehouse" : slug[..Math.Min(slug.Length, 40)];
    }
}

/// <summary>A device revoked (directly, or with its app): the configs generated through it are revoked in the same transaction, their certificates too.</summary>
public sealed class DeviceRevocationCascade(OrgCertificateAuthorities authorities, TimeProvider clock) : IChangeSetParticipant
{
    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        foreach (var action in actions)
        {
            if (action.Action != DeviceActions.Revoke || action.OrgId is not { } orgId || action.TargetId is not { } deviceId)
            {
                continue;
            }

            var configs = await db.Owned<VpnConfig>(orgId).Where(c => c.DeviceId == deviceId && c.RevokedAt == null).ToListAsync(cancellationToken);
            foreach (var config in configs)
            {
                // The device.revoke event in this transaction is the record of these revocations.
                await VpnConfigOperations.RevokeTrackedAsync(db, orgId, config, "privilege_withdrawn", authorities, clock.GetUtcNow().UtcDateTime, cancellationToken);
            }
        }
    }
}
