using Gatehouse.Contracts;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>What the device routes share: finding apps, making sessions and refresh tokens, ending sessions, loading a session for validation.</summary>
public sealed class DeviceFlow(
    GatehouseDb db, ChangeSet changes, SecretHasher secrets, DeviceSessionCache cache, DeviceMetrics metrics, DevicesOptions options, UserLookup users, TimeProvider clock)
{
    public const string RefreshTokenPrefix = "gdr_";
    public const string AuthTokenPrefix = "gdt_";

    /// <summary>The prefix of Gatehouse user ids: a device user id of this shape must be a user of the organization.</summary>
    public const string GatehouseUserPrefix = "usr";

    public GatehouseDb Db => db;
    public ChangeSet Changes => changes;
    public SecretHasher Secrets => secrets;
    public DeviceSessionCache Cache => cache;
    public DeviceMetrics Metrics => metrics;
    public DevicesOptions Options => options;
    public TimeProvider Clock => clock;
    public DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>404 GATEWAY_NOT_FOUND: an app id (or gatewayUuid) the caller does not have.</summary>
    public static ApiError GatewayNotFound() => new(ErrorCodes.GatewayNotFound, "The device app (gateway) was not found.");

    /// <summary>
    /// A device belongs to a user of the organization — a Gatehouse user id (<c>usr_…</c>), which must
    /// name an enabled user of this organization — or to a user id the app owns (any other string, taken
    /// as it is). The refusal is the same for a missing, a disabled and another organization's user.
    /// </summary>
    public async Task<ApiError?> CheckUserAsync(string orgId, string userId, CancellationToken cancellationToken)
    {
        if (!Ids.LooksLike(userId, GatehouseUserPrefix))
        {
            return null;
        }

        var user = await users.FindAsync(orgId, userId, cancellationToken);
        return user is { Disabled: false } ? null : ApiError.Validation("userId", "is not an enabled user of this organization");
    }

    /// <summary>The app named by <c>appId</c> or its alias <c>gatewayUuid</c>, in the caller's organization (any for root).</summary>
    public async Task<(DeviceApp? App, ApiError? Error)> FindAppAsync(Principal principal, string? orgId, string? appId, string? gatewayUuid, CancellationToken cancellationToken)
    {
        if (appId is not null && gatewayUuid is not null && appId != gatewayUuid)
        {
            return (null, ApiError.Validation("gatewayUuid", "must equal appId when both are sent"));
        }

        var id = appId ?? gatewayUuid;
        if (string.IsNullOrWhiteSpace(id))
        {
            return (null, ApiError.Validation("appId", "required"));
        }

        var scope = orgId ?? principal.OrgId;
        var apps = scope is null ? db.Set<DeviceApp>() : db.Owned<DeviceApp>(scope);
        if (scope is null && !principal.IsRoot)
        {
            return (null, GatewayNotFound());
        }

        var app = await apps.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        return app is null ? (null, GatewayNotFound()) : (app, null);
    }

    public DeviceSession NewSession(DeviceApp app, string userId, string deviceId, string? externalSessionId)
    {
        var now = Now;
        var session = new DeviceSession
        {
            Id = Ids.New("ses", clock.GetUtcNow()),
            OrgId = app.OrgId,
            AppId = app.Id,
            UserId = userId,
            DeviceId = deviceId,
            ExternalSessionId = externalSessionId,
            CreatedAt = now,
            ExpiresAt = now.AddSeconds(app.SessionTtlSeconds),
        };
        db.Add(session);
        return session;
    }

    /// <summary>A new refresh token of <paramref name="session"/>, stored as its keyed hash; the token itself is shown once.</summary>
    public string IssueRefreshToken(DeviceSession session)
    {
        var token = DeviceKeys.NewSecret(RefreshTokenPrefix);
        db.Add(new DeviceRefreshToken { Hash = secrets.Hash(token), OrgId = session.OrgId, SessionId = session.Id, CreatedAt = Now });
        return token;
    }

    /// <summary>Ends <paramref name="session"/> (tracked) and records it; the cache drops it after the commit.</summary>
    public void End(DeviceSession session, string reason)
    {
        session.EndedAt = Now;
        session.EndReason = reason;
        changes.Record(DeviceActions.SessionEnd, session.OrgId, session.Id, new { session.DeviceId, reason });
    }

    /// <summary>The session with its device's state and key: from the cache, or read and cached. Null when it does not exist.</summary>
    internal async Task<CachedDeviceSession?> LoadAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (cache.TryGet(sessionId, out var cached))
        {
            metrics.CountLookup(hit: true);
            return cached;
        }

        metrics.CountLookup(hit: false);
        var generation = cache.Generation;
        var session = await db.Set<DeviceSession>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
        if (session is null)
        {
            return null;
        }

        var device = await db.Owned<Device>(session.OrgId).AsNoTracking().FirstOrDefaultAsync(d => d.Id == session.DeviceId, cancellationToken);
        var app = await db.Owned<DeviceApp>(session.OrgId).AsNoTracking().FirstOrDefaultAsync(a => a.Id == session.AppId, cancellationToken);
        if (device is null)
        {
            return null;
        }

        var loaded = new CachedDeviceSession(session, device.RevokedAt is not null || app is null, device.PublicKeyJwk,
            app?.ProofMaxAgeSeconds ?? DeviceAppOperations.DefaultProofMaxAgeSeconds, device.KeyType, app?.AllowedOrigins);
        cache.Add(loaded, generation);
        return loaded;
    }
}
