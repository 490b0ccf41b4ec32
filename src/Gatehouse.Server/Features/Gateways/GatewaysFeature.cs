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
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>Settings of section <c>Gatehouse:Gateways</c>.</summary>
public sealed class GatewayOptions
{
    /// <summary>How often agents are told to send a heartbeat; after 3 missed ones a gateway is offline.</summary>
    [Range(1, 3600)]
    public int HeartbeatIntervalSeconds { get; set; } = 30;
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

/// <summary>Gateway verify outcomes and connection reports, counted on this node.</summary>
public sealed class GatewayMetrics : IMetricsSource
{
    private readonly ConcurrentDictionary<string, long> _verify = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _connections = new(StringComparer.Ordinal);

    public void CountVerify(string outcome) => _verify.AddOrUpdate(outcome, 1, (_, n) => n + 1);

    public void CountConnection(string kind) => _connections.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.gateway.verify", MetricKind.Counter, "Gateway client verifications by outcome: allowed, or the refusal reason",
            () => [.. _verify.Select(p => new MetricSeries(p.Value, "outcome", p.Key))]),
        new("gatehouse.gateway.connections", MetricKind.Counter, "Client connections and disconnections gateways reported",
            () => [.. _connections.Select(p => new MetricSeries(p.Value, "event", p.Key))]),
    ];
}

/// <summary>Marks gateways offline that missed 3 heartbeats; each one is audited (<c>gateway.offline</c>).</summary>
public sealed class GatewayOfflineJob(IServiceScopeFactory scopes, GatewayOptions options, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<GatewayOfflineJob> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    public const string JobName = "gateway-offline";

    public override string Name => JobName;

    public override string Description => "Marks gateways offline after 3 missed heartbeats.";

    public override TimeSpan Interval => TimeSpan.FromSeconds(options.HeartbeatIntervalSeconds);

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var changes = scope.ServiceProvider.GetRequiredService<ChangeSet>();
        var cutoff = Clock.GetUtcNow().UtcDateTime.AddSeconds(-3 * options.HeartbeatIntervalSeconds);
        var silent = await db.Set<Gateway>().Where(g => g.Status == GatewayStatus.Online && g.LastHeartbeat < cutoff).Take(500).ToListAsync(cancellationToken);
        foreach (var gateway in silent)
        {
            gateway.Status = GatewayStatus.Offline;
            changes.Record(GatewayActions.Offline, gateway.OrgId, gateway.Id, new { gateway.Name, lastHeartbeat = gateway.LastHeartbeat }, actor: ("system", JobName));
        }

        if (silent.Count > 0)
        {
            await changes.CommitAsync(cancellationToken);
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

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Gateways", "VPN gateways, networks and access rules (GateKey paths)."),
        ("Gateway agent", "What a gateway agent calls with its X-Gateway-Token."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("gateways:read", "List the gateways the caller may connect to."),
        new("gateways:write", "Manage gateways (their tokens), networks and access rules."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => GatewayActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<GatewayOptions>(Name);
        services.OrgData<GatewayOrgData>();
        services.CredentialResolver<GatewayCredentialResolver>();
        services.Metrics<GatewayMetrics>();
        services.Job<GatewayOfflineJob>();
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

        var agent = org.MapGroup("/gateway").WithTags("Gateway agent");
        agent.MapPost("/heartbeat", GatewayAgentOperations.Heartbeat).RequireCredential().WithName("GatewayHeartbeat").WithSummary("Report liveness, version, load and connected clients");
        agent.MapPost("/verify", GatewayAgentOperations.Verify).RequireCredential().WithName("GatewayVerifyClient").WithSummary("May this client (certificate serial or WireGuard key) connect?");
        agent.MapPost("/connect", GatewayAgentOperations.Connect).RequireCredential().WithName("GatewayClientConnected").WithSummary("Report a client connection");
        agent.MapPost("/disconnect", GatewayAgentOperations.Disconnect).RequireCredential().WithName("GatewayClientDisconnected").WithSummary("Report a client disconnection with its byte counts");
        agent.MapPost("/provision", GatewayAgentOperations.Provision).RequireCredential().WithName("GatewayProvision").WithSummary("A server certificate for the gateway's hostname from a CSR");
        agent.MapPost("/client-rules", GatewayAgentOperations.ClientRules).RequireCredential().WithName("GatewayClientRules").WithSummary("The rules one client is subject to at this gateway, in order");
        agent.MapPost("/all-rules", GatewayAgentOperations.AllRules).RequireCredential().WithName("GatewayAllRules").WithSummary("Every rule this gateway enforces, with a version to poll cheaply");
    }
}
