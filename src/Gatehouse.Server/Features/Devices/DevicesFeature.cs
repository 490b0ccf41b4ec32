using System.ComponentModel.DataAnnotations;
using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.Devices;

/// <summary>Settings of section <c>Gatehouse:Devices</c>.</summary>
public sealed class DevicesOptions
{
    /// <summary>The server's public base URL for the hosted page (<c>https://auth.example.com</c>); absent: the request's scheme and host.</summary>
    [Url]
    public string? PublicUrl { get; set; }

    /// <summary>How long the URL of one pass through the hosted page stays usable.</summary>
    [Range(30, 3600)]
    public int AuthRequestTtlSeconds { get; set; } = 600;

    /// <summary>How long the one-time token on the redirect stays usable (at most two minutes).</summary>
    [Range(10, 120)]
    public int TokenTtlSeconds { get; set; } = 120;

    /// <summary>Requests one IP address may make to the browser endpoints (<c>/device/*</c>) per minute.</summary>
    [Range(1, int.MaxValue)]
    public int BrowserRequestsPerIpPerMinute { get; set; } = 300;
}

/// <summary>What happens to device apps, devices and device-bound sessions (other features react to a revocation).</summary>
[FeatureApi]
public static class DeviceActions
{
    public static readonly AuditAction AppCreate = new("device_app.create", "device_app");
    public static readonly AuditAction AppUpdate = new("device_app.update", "device_app");
    public static readonly AuditAction AppDelete = new("device_app.delete", "device_app");

    public static readonly AuditAction Register = new("device.register", "device",
        new WebhookEvent("device.registered", "A device was registered for a user (by the hosted page or server to server).", "devices:read"));

    public static readonly AuditAction Revoke = new("device.revoke", "device",
        new WebhookEvent("device.revoked", "A device was revoked; its sessions ended.", "devices:read"));

    public static readonly AuditAction SessionCreate = new("device_session.create", "device_session",
        new WebhookEvent("session.created", "A device-bound session was created.", "devices:read"));

    public static readonly AuditAction SessionEnd = new("device_session.end", "device_session",
        new WebhookEvent("session.ended", "A device-bound session ended (by the app, a revoked device or a reused refresh token).", "devices:read"));

    public static readonly AuditAction SessionRefresh = new("device_session.refresh", "device_session");

    public static readonly AuditAction Verified = new("device_auth.verify", "device_auth_request",
        new WebhookEvent("device_auth.verified", "A device verification token was exchanged for a session.", "devices:read"));

    public static readonly AuditAction Failed = new("device_auth.fail", "device_auth_request",
        new WebhookEvent("device_auth.failed", "A device verification failed (an unknown, used, expired or mismatched token, or a refused device).", "devices:read"));

    public static readonly IReadOnlyList<AuditAction> All =
        [AppCreate, AppUpdate, AppDelete, Register, Revoke, SessionCreate, SessionEnd, SessionRefresh, Verified, Failed];
}

/// <summary>
/// Device verification and device-bound sessions (docs/devices.md): apps send users through a
/// hosted page whose agent keeps a non-extractable P-256 key in the browser; sessions bound to
/// that key validate only with a fresh signature of it.
/// </summary>
public sealed class DevicesFeature : Feature
{
    public override string Name => "Devices";

    public override IReadOnlyList<(string Tag, string Description)> Tags =>
    [
        ("Device apps", "Sites that send their users through device verification (Relock's gateways)."),
        ("Devices", "Trusted devices of users, and sessions bound to them."),
        ("Device auth", "The device-verification flow: the auth URL, the token exchange and refresh; the hosted page and its browser endpoints."),
    ];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("devices:read", "List and read device apps, devices and device sessions; validate sessions."),
        new("devices:write", "Manage device apps; register and revoke devices; create and end device sessions; start and verify device auth."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => DeviceActions.All;

    public override void AddServices(FeatureServices services)
    {
        services.Options<DevicesOptions>(Name);
        services.AfterCommit<DeviceSessionCache>();
        services.Metrics<DeviceMetrics>();
        services.Services.AddScoped<DeviceFlow>();
        services.Services.AddScoped<DeviceVerification>();
        services.OrgData<DeviceOrgData>();
        services.Job<DeviceRecordPrune>().ClusterChanges<DeviceClusterChanges>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var apps = routes.Api.MapGroup("/orgs/{orgId}/device-apps").WithTags("Device apps");
        apps.MapPost("", DeviceAppOperations.Create).RequirePermission("devices:write").WithName("CreateDeviceApp").WithSummary("Register a device app (gateway)");
        apps.MapGet("", DeviceAppOperations.List).RequirePermission("devices:read").WithName("ListDeviceApps").WithSummary("List device apps");
        apps.MapGet("/{appId}", DeviceAppOperations.Get).RequirePermission("devices:read").WithName("GetDeviceApp").WithSummary("Get a device app");
        apps.MapPatch("/{appId}", DeviceAppOperations.Update).RequirePermission("devices:write").WithName("UpdateDeviceApp").WithSummary("Update a device app");
        apps.MapDelete("/{appId}", DeviceAppOperations.Delete).RequirePermission("devices:write")
            .WithName("DeleteDeviceApp").WithSummary("Delete a device app; its devices are revoked and their sessions end");

        var devices = routes.Api.MapGroup("/orgs/{orgId}/devices").WithTags("Devices");
        devices.MapPost("", DeviceOperations.Register).RequirePermission("devices:write").WithName("RegisterDevice").WithSummary("Register a device with its public key (server to server)");
        devices.MapGet("", DeviceOperations.List).RequirePermission("devices:read").WithName("ListDevices").WithSummary("List devices (filters userId, appId)");
        devices.MapGet("/{deviceId}", DeviceOperations.Get).RequirePermission("devices:read").WithName("GetDevice").WithSummary("Get a device");
        devices.MapDelete("/{deviceId}", DeviceOperations.Revoke).RequirePermission("devices:write").WithName("RevokeDevice").WithSummary("Revoke a device and end its sessions");

        var sessions = routes.Api.MapGroup("/orgs/{orgId}/sessions").WithTags("Devices");
        sessions.MapPost("", DeviceOperations.CreateSession).RequirePermission("devices:write").GuardsEscalation()
            .WithName("CreateDeviceSession").WithSummary("Create a session bound to a user's device");
        sessions.MapGet("/{sessionId}", DeviceOperations.GetSession).RequirePermission("devices:read").WithName("GetDeviceSession").WithSummary("Get a device-bound session");
        sessions.MapPost("/{sessionId}/validate", DeviceOperations.ValidateSession).RequirePermission("devices:read")
            .WithName("ValidateDeviceSession").WithSummary("Validate a device-bound session with a fresh proof signed by its device");
        sessions.MapDelete("/{sessionId}", DeviceOperations.EndSession).RequirePermission("devices:write").GuardsEscalation()
            .WithName("EndDeviceSession").WithSummary("End a device-bound session");

        var auth = routes.Api.MapGroup("/device-auth").WithTags("Device auth");
        auth.MapPost("/url", DeviceAuthOperations.Url).RequirePermission("devices:write").WithName("CreateDeviceAuthUrl")
            .WithSummary("The hosted-page URL that sends a user through device verification");
        auth.MapPost("/verify", DeviceAuthOperations.Verify).RequirePermission("devices:write").WithName("VerifyDeviceAuthToken")
            .WithSummary("Exchange the one-time token of the redirect for a device-bound session and refresh token");
        auth.MapPost("/refresh", DeviceAuthOperations.Refresh).RequirePermission("devices:write").WithName("RefreshDeviceSession")
            .WithSummary("Renew a device-bound session; the refresh token rotates, and a reused one ends the session");

        DeviceBrowserEndpoints.Map(routes.Root);
    }
}
