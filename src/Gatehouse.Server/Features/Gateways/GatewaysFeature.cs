using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>Settings of section <c>Gatehouse:Gateways</c>.</summary>
public sealed class GatewayOptions
{
    /// <summary>How often agents are told to send a heartbeat; after 3 missed ones a gateway is offline.</summary>
    [Range(1, 3600)]
    public int HeartbeatIntervalSeconds { get; set; } = 30;

    /// <summary>How long a generated VPN config waits for its one download.</summary>
    [Range(30, 86_400)]
    public int ConfigDownloadTtlSeconds { get; set; } = 300;

    /// <summary>How long the client certificate of an OpenVPN config lives (capped by <c>Pki:ClientMaxLifetimeDays</c>).</summary>
    [Range(1, 720)]
    public int ConfigCertificateHours { get; set; } = 24;

    /// <summary>VPN configs one user may generate per minute.</summary>
    [Range(1, 1_000_000)]
    public int ConfigGenerationPerMinute { get; set; } = 30;

    /// <summary>A MaxMind GeoIP2/GeoLite2 Country database (<c>.mmdb</c>) for the geo-fence.</summary>
    public string? GeoIpDatabasePath { get; set; }

    /// <summary>Or a CSV of <c>cidr,country</c> lines (ISO 3166-1 alpha-2), the most specific range winning.</summary>
    public string? GeoIpCsvPath { get; set; }
}

/// <summary>What happens to gateways, networks, access rules and client connections.</summary>
public static class GatewayActions
{
    public static readonly AuditAction Create = new("gateway.create", "gateway", new WebhookEvent("gateway.created", "A gateway was registered.", "gateways:read"));
    public static readonly AuditAction Update = new("gateway.update", "gateway", new WebhookEvent("gateway.updated", "A gateway was changed.", "gateways:read"));
    public static readonly AuditAction Delete = new("gateway.delete", "gateway", new WebhookEvent("gateway.deleted", "A gateway was deleted.", "gateways:read"));
    public static readonly AuditAction RotateToken = new("gateway.rotate_token", "gateway", new WebhookEvent("gateway.token_rotated", "A gateway's agent token was replaced.", "gateways:read"));
    public static readonly AuditAction Online = new("gateway.online", "gateway", new WebhookEvent("gateway.online", "A gateway sent a heartbeat after being new or offline.", "gateways:read"));
    public static readonly AuditAction Offline = new("gateway.offline", "gateway", new WebhookEvent("gateway.offline", "A gateway missed 3 heartbeats.", "gateways:read"));
    public static readonly AuditAction ClientConnected = new("gateway.client_connect", "gateway_connection", new WebhookEvent("gateway.client_connected", "A gateway reported a client connection.", "gateways:read"));
    public static readonly AuditAction ClientDisconnected = new("gateway.client_disconnect", "gateway_connection", new WebhookEvent("gateway.client_disconnected", "A gateway reported a client disconnection.", "gateways:read"));
    public static readonly AuditAction CreateNetwork = new("network.create", "network", new WebhookEvent("network.created", "A network was created.", "gateways:read"));
    public static readonly AuditAction UpdateNetwork = new("network.update", "network", new WebhookEvent("network.updated", "A network was changed.", "gateways:read"));
    public static readonly AuditAction DeleteNetwork = new("network.delete", "network", new WebhookEvent("network.deleted", "A network was deleted.", "gateways:read"));
    public static readonly AuditAction CreateRule = new("access_rule.create", "access_rule", new WebhookEvent("access_rule.created", "An access rule was created.", "gateways:read"));
    public static readonly AuditAction UpdateRule = new("access_rule.update", "access_rule", new WebhookEvent("access_rule.updated", "An access rule was changed.", "gateways:read"));
    public static readonly AuditAction DeleteRule = new("access_rule.delete", "access_rule", new WebhookEvent("access_rule.deleted", "An access rule was deleted.", "gateways:read"));

    public static readonly IReadOnlyList<AuditAction> All =
        [Create, Update, Delete, RotateToken, Online, Offline, ClientConnected, ClientDisconnected, CreateNetwork, UpdateNetwork, DeleteNetwork, CreateRule, UpdateRule, DeleteRule];
}

/// <summary>What happens to VPN configs, mesh hubs and the organization's VPN policy.</summary>
public static class VpnActions
{
    public static readonly AuditAction Generate = new("vpn_config.generate", "vpn_config", new WebhookEvent("vpn_config.generated", "A VPN config was generated for a user.", "configs:read"));
    public static readonly AuditAction Download = new("vpn_config.download", "vpn_config", new WebhookEvent("vpn_config.downloaded", "A VPN config was downloaded (its keys were made then, and shown this once).", "configs:read"));
    public static readonly AuditAction Revoke = new("vpn_config.revoke", "vpn_config", new WebhookEvent("vpn_config.revoked", "A VPN config was revoked: its certificate or WireGuard peer no longer passes verify.", "configs:read"));
    public static readonly AuditAction UpdateSettings = new("vpn_settings.update", "organization");
    public static readonly AuditAction UpdateGeoFence = new("geo_fence.update", "organization", new WebhookEvent("geo_fence.updated", "The organization's geo-fence changed.", "gateways:read"));
    public static readonly AuditAction CreateHub = new("mesh_hub.create", "mesh_hub", new WebhookEvent("mesh_hub.created", "A mesh hub was created.", "gateways:read"));
    public static readonly AuditAction UpdateHub = new("mesh_hub.update", "mesh_hub", new WebhookEvent("mesh_hub.updated", "A mesh hub was changed.", "gateways:read"));
    public static readonly AuditAction DeleteHub = new("mesh_hub.delete", "mesh_hub", new WebhookEvent("mesh_hub.deleted", "A mesh hub was deleted; its spokes' configs were revoked.", "gateways:read"));
    public static readonly AuditAction AddSpoke = new("mesh_hub.add_spoke", "vpn_config", new WebhookEvent("mesh_hub.spoke_added", "A site joined a mesh hub (its config was generated).", "gateways:read"));

    public static readonly IReadOnlyList<AuditAction> All = [Generate, Download, Revoke, UpdateSettings, UpdateGeoFence, CreateHub, UpdateHub, DeleteHub, AddSpoke];
}

/// <summary>Gateway verify outcomes and connection reports, counted on this node.</summary>
public sealed class GatewayMetrics : IMetricsSource
{
    private readonly ConcurrentDictionary<string, long> _verify = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _connections = new(StringComparer.Ordinal);

    public void CountVerify(string outcome) => _verify.AddOrUpdate(outcome, 1, (_, n) => n + 1);

    public void CountConnection(string kind, long count = 1) => _connections.AddOrUpdate(kind, count, (_, n) => n + count);

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.gateway.verify", MetricKind.Counter, "Gateway client verifications by outcome: allowed, or the refusal reason",
            () => [.. _verify.Select(p => new MetricSeries(p.Value, "outcome", p.Key))]),
        new("gatehouse.gateway.connections", MetricKind.Counter, "Client connections and disconnections gateways reported",
            () => [.. _connections.Select(p => new MetricSeries(p.Value, "event", p.Key))]),
    ];
}

/// <summary>
/// Marks gateways offline that missed 3 heartbeats (<c>gateway.offline</c>) and closes their open
/// client connections with reason <c>gateway_offline</c> (<c>gateway.client_disconnect</c> each), in
/// the same change set as the status change.
/// </summary>
public sealed class GatewayOfflineJob(
    IServiceScopeFactory scopes, GatewayOptions options, GatewayMetrics metrics, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<GatewayOfflineJob> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "gateway-offline";

    public override string Name => JobName;

    public override string Description => "Marks gateways offline after 3 missed heartbeats and closes their open client connections.";

    public override TimeSpan Interval => TimeSpan.FromSeconds(options.HeartbeatIntervalSeconds);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var cutoff = now.AddSeconds(-3 * options.HeartbeatIntervalSeconds);
        var silent = await db.Set<Gateway>().Where(g => g.Status == GatewayStatus.Online && g.LastHeartbeat < cutoff).Take(500).ToListAsync(cancellationToken);
        var closed = 0;
        foreach (var gateway in silent)
        {
            gateway.Status = GatewayStatus.Offline;
            changes.Record(GatewayActions.Offline, gateway.OrgId, gateway.Id, new { gateway.Name, lastHeartbeat = gateway.LastHeartbeat }, actor: ("system", JobName));
            var open = await db.Owned<GatewayConnection>(gateway.OrgId).Where(c => c.GatewayId == gateway.Id && c.DisconnectedAt == null).ToListAsync(cancellationToken);
            foreach (var connection in open)
            {
                connection.DisconnectedAt = now;
                connection.DisconnectReason = DisconnectReasons.GatewayOffline;
                changes.Record(GatewayActions.ClientDisconnected, gateway.OrgId, connection.Id,
                    new { gatewayId = gateway.Id, userId = connection.UserId, bytesIn = connection.BytesIn, bytesOut = connection.BytesOut, reason = connection.DisconnectReason },
                    actor: ("system", JobName));
            }

            closed += open.Count;
        }

        if (silent.Count > 0)
        {
            await changes.CommitAsync(cancellationToken);
            metrics.CountConnection("disconnected", closed);
        }

        return new JobPass(Succeeded: true, DidWork: silent.Count > 0);
    }
}

/// <summary>
/// Network gateways, the networks behind them, access rules and the gateway agent's API, at
/// GateKey's paths (API.md §10) with its snake_case field names inside the envelope.
/// </summary>
public sealed class GatewaysFeature : Feature
{
    public override string Name => "Gateways";

    /// <summary>The credential of the gateway agent routes, as the OpenAPI document declares it.</summary>
    public static readonly CredentialHeaderScheme AgentToken =
        new("gatewayToken", Authentication.GatewayTokenHeader, "The gateway's own agent token (gkg_…), shown once when the gateway is created or its token rotated.");

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Gateways", "VPN gateways, networks and access rules (GateKey paths)."),
        ("Gateway agent", "What a gateway agent calls with its X-Gateway-Token."),
        ("VPN configs", "OpenVPN and WireGuard configs users connect with: generated, downloaded once, revoked."),
        ("Mesh", "Mesh hubs: WireGuard gateways joining networks site to site."),
        ("Geo-fence", "Where users may log in, get configs and connect from."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("gateways:read", "List the gateways the caller may connect to."),
        new("gateways:write", "Manage gateways (their tokens), networks, access rules, mesh hubs, the geo-fence and VPN configs."),
        new("configs:read", "List the organization's VPN configs (a user session lists its own without it)."),
        new("configs:write", "Generate, download and revoke VPN configs for users of the organization (a user session does so for itself without it)."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => [.. GatewayActions.All, .. VpnActions.All];

    public override void AddServices(FeatureServices services)
    {
        services.Options<GatewayOptions>(Name);
        services.OrgData<GatewayOrgData>();
        services.CredentialResolver<GatewayCredentialResolver>();
        services.Metrics<GatewayMetrics>();
        services.Job<GatewayOfflineJob>();
        services.Services.AddSingleton<GeoIpLookup>();
        services.Services.AddScoped<Vault.IDataKeyUser, GatewayDataKeyUser>();
        services.Services.AddScoped<VpnPolicy>();
        services.Services.AddScoped<VpnConfigServices>();
        services.Services.AddScoped<Users.ILoginPolicy, GeoFenceLoginPolicy>();
        services.ChangeSetParticipant<DeviceRevocationCascade>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var org = routes.Api.MapGroup("/orgs/{orgId}").WithResponseProfile(ResponseProfile.EnvelopeSnakeCase);

        org.MapGet("/gateways", GatewayAdminOperations.ListAvailable).RequirePermission("gateways:read").WithTags("Gateways")
            .WithName("ListAvailableGateways").WithSummary("The gateways the caller may connect to (also /api/v1/gateways)");

        var gateways = org.MapGroup("/admin/gateways").WithTags("Gateways");
        gateways.MapGet("", GatewayAdminOperations.ListGateways).RequirePermission("gateways:write").WithName("ListGateways").WithSummary("List gateways");
        gateways.MapPost("", GatewayAdminOperations.CreateGateway).RequirePermission("gateways:write").WithName("CreateGateway").WithSummary("Register a gateway (its agent token is shown once)");
        gateways.MapGet("/{gatewayId}", GatewayAdminOperations.GetGateway).RequirePermission("gateways:write").WithName("GetGateway").WithSummary("Get a gateway");
        gateways.MapPut("/{gatewayId}", GatewayAdminOperations.UpdateGateway).RequirePermission("gateways:write").WithName("UpdateGateway").WithSummary("Update a gateway");
        gateways.MapDelete("/{gatewayId}", GatewayAdminOperations.DeleteGateway).RequirePermission("gateways:write").WithName("DeleteGateway").WithSummary("Delete a gateway (its token stops working)");
        gateways.MapPost("/{gatewayId}/rotate-token", GatewayAdminOperations.RotateToken).RequirePermission("gateways:write").WithName("RotateGatewayToken").WithSummary("Replace a gateway's agent token (shown once; the old one stops at once)");

        var networks = org.MapGroup("/admin/networks").WithTags("Gateways");
        networks.MapGet("", GatewayAdminOperations.ListNetworks).RequirePermission("gateways:write").WithName("ListNetworks").WithSummary("List networks");
        networks.MapPost("", GatewayAdminOperations.CreateNetwork).RequirePermission("gateways:write").WithName("CreateNetwork").WithSummary("Create a network (CIDRs never overlap within an organization)");
        networks.MapGet("/{networkId}", GatewayAdminOperations.GetNetwork).RequirePermission("gateways:write").WithName("GetNetwork").WithSummary("Get a network");
        networks.MapPut("/{networkId}", GatewayAdminOperations.UpdateNetwork).RequirePermission("gateways:write").WithName("UpdateNetwork").WithSummary("Replace a network");
        networks.MapDelete("/{networkId}", GatewayAdminOperations.DeleteNetwork).RequirePermission("gateways:write").WithName("DeleteNetwork").WithSummary("Delete a network no access rule targets");

        var rules = org.MapGroup("/admin/access-rules").WithTags("Gateways");
        rules.MapGet("", GatewayAdminOperations.ListRules).RequirePermission("gateways:write").WithName("ListAccessRules").WithSummary("List access rules");
        rules.MapPost("", GatewayAdminOperations.CreateRule).RequirePermission("gateways:write").WithName("CreateAccessRule").WithSummary("Create an access rule");
        rules.MapGet("/{accessRuleId}", GatewayAdminOperations.GetRule).RequirePermission("gateways:write").WithName("GetAccessRule").WithSummary("Get an access rule");
        rules.MapPut("/{accessRuleId}", GatewayAdminOperations.UpdateRule).RequirePermission("gateways:write").WithName("UpdateAccessRule").WithSummary("Replace an access rule");
        rules.MapDelete("/{accessRuleId}", GatewayAdminOperations.DeleteRule).RequirePermission("gateways:write").WithName("DeleteAccessRule").WithSummary("Delete an access rule");

        var configs = org.MapGroup("/configs").WithTags("VPN configs");
        configs.MapPost("/generate", VpnConfigOperations.Generate).RequireCredential().WithName("GenerateVpnConfig")
            .WithSummary("Generate a VPN config for a gateway (a user session for itself, or configs:write naming user_id); download it once");
        configs.MapGet("/download/{configId}", VpnConfigOperations.Download).RequireCredential().WithName("DownloadVpnConfig")
            .Produces<string>(200, "application/x-openvpn-profile", "text/plain").WithSummary("The config file, once: its keys are made now and never stored");
        configs.MapGet("", VpnConfigOperations.ListOwn).RequireCredential().WithName("ListOwnVpnConfigs").WithSummary("A user's own VPN configs (configs:read: every config)");
        configs.MapDelete("/{configId}", VpnConfigOperations.DeleteOwn).RequireCredential().WithName("DeleteVpnConfig")
            .WithSummary("Revoke one's own VPN config: its certificate (with a new CRL) or WireGuard peer stops passing verify");

        var adminConfigs = org.MapGroup("/admin/configs").WithTags("VPN configs");
        adminConfigs.MapGet("", VpnConfigOperations.ListAll).RequirePermission("configs:read").WithName("ListVpnConfigs").WithSummary("Every VPN config (filters user_id, gateway_id)");
        adminConfigs.MapGet("/settings", VpnConfigOperations.GetSettings).RequirePermission("gateways:write").WithName("GetVpnConfigSettings").WithSummary("The organization's VPN config policy");
        adminConfigs.MapPut("/settings", VpnConfigOperations.PutSettings).RequirePermission("gateways:write").WithName("UpdateVpnConfigSettings")
            .WithSummary("Require device-verified sessions for VPN configs");
        adminConfigs.MapPost("/{configId}/revoke", VpnConfigOperations.AdminRevoke).RequirePermission("gateways:write").WithName("RevokeVpnConfig")
            .WithSummary("Revoke any VPN config of the organization");

        org.MapGet("/mesh/hubs", MeshHubOperations.ListAvailable).RequirePermission("gateways:read").WithTags("Mesh").WithName("ListAvailableMeshHubs")
            .WithSummary("The mesh hubs the caller may reach (also /api/v1/mesh/hubs)");
        var hubs = org.MapGroup("/admin/mesh/hubs").WithTags("Mesh");
        hubs.MapGet("", MeshHubOperations.List).RequirePermission("gateways:write").WithName("ListMeshHubs").WithSummary("List mesh hubs");
        hubs.MapPost("", MeshHubOperations.Create).RequirePermission("gateways:write").WithName("CreateMeshHub").WithSummary("Create a mesh hub on a WireGuard gateway");
        hubs.MapGet("/{hubId}", MeshHubOperations.Get).RequirePermission("gateways:write").WithName("GetMeshHub").WithSummary("Get a mesh hub");
        hubs.MapPut("/{hubId}", MeshHubOperations.Update).RequirePermission("gateways:write").WithName("UpdateMeshHub").WithSummary("Replace a mesh hub");
        hubs.MapDelete("/{hubId}", MeshHubOperations.Delete).RequirePermission("gateways:write").WithName("DeleteMeshHub").WithSummary("Delete a mesh hub; its spokes' configs are revoked");
        hubs.MapPost("/{hubId}/spokes", MeshHubOperations.AddSpoke).RequirePermission("gateways:write").WithName("AddMeshSpoke")
            .WithSummary("A site joins the hub: a WireGuard config to download once");

        var geo = org.MapGroup("/admin/geo-fence").WithTags("Geo-fence");
        geo.MapGet("", GeoFenceOperations.Get).RequirePermission("gateways:write").WithName("GetGeoFence").WithSummary("The organization's geo-fence");
        geo.MapPut("", GeoFenceOperations.Put).RequirePermission("gateways:write").WithName("UpdateGeoFence").WithSummary("Set the geo-fence: off, or an allow- or deny-list of countries");
        geo.MapPost("/check", GeoFenceOperations.Check).RequirePermission("gateways:write").WithName("CheckGeoFence").WithSummary("What the geo-fence decides for an address");

        var agent = org.MapGroup("/gateway").WithTags("Gateway agent").WithCredentialScheme(AgentToken);
        agent.MapPost("/heartbeat", GatewayAgentOperations.Heartbeat).RequireCredential().WithName("GatewayHeartbeat").WithSummary("Report liveness, version, load and connected clients");
        agent.MapPost("/verify", GatewayAgentOperations.Verify).RequireCredential().WithName("GatewayVerifyClient").WithSummary("May this client (certificate serial or WireGuard key) connect?");
        agent.MapPost("/connect", GatewayAgentOperations.Connect).RequireCredential().WithName("GatewayClientConnected").WithSummary("Report a client connection");
        agent.MapPost("/disconnect", GatewayAgentOperations.Disconnect).RequireCredential().WithName("GatewayClientDisconnected").WithSummary("Report a client disconnection with its byte counts");
        agent.MapPost("/provision", GatewayAgentOperations.Provision).RequireCredential().WithName("GatewayProvision").WithSummary("A server certificate for the gateway's hostname from a CSR");
        agent.MapPost("/client-rules", GatewayAgentOperations.ClientRules).RequireCredential().WithName("GatewayClientRules").WithSummary("The rules one client is subject to at this gateway, in order");
        agent.MapPost("/all-rules", GatewayAgentOperations.AllRules).RequireCredential().WithName("GatewayAllRules").WithSummary("Every rule this gateway enforces, with a version to poll cheaply");
    }
}
