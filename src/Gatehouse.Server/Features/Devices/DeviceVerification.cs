using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// What other features may know of device verification: which trusted device a login session came
/// through (the app passed that session's id as <c>sessionId</c> when it sent the user through the
/// hosted page), and whether a device is still trusted.
/// </summary>
[FeatureApi]
public sealed class DeviceVerification(GatehouseDb db, TimeProvider clock)
{
    /// <summary>
    /// The device of a live device-bound session created for <paramref name="externalSessionId"/> of
    /// <paramref name="userId"/>, when that device is not revoked; null otherwise.
    /// </summary>
    public async Task<string?> VerifiedDeviceAsync(string orgId, string userId, string externalSessionId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var candidates = await db.Owned<DeviceSession>(orgId).AsNoTracking()
            .Where(s => s.UserId == userId && s.ExternalSessionId == externalSessionId && s.EndedAt == null && s.ExpiresAt > now)
            .OrderByDescending(s => s.CreatedAt).Select(s => s.DeviceId).ToListAsync(cancellationToken);
        foreach (var deviceId in candidates)
        {
            if (await IsActiveAsync(orgId, deviceId, cancellationToken))
            {
                return deviceId;
            }
        }

        return null;
    }

    /// <summary>Whether the device exists in the organization and is not revoked.</summary>
    public Task<bool> IsActiveAsync(string orgId, string deviceId, CancellationToken cancellationToken) =>
        db.Owned<Device>(orgId).AnyAsync(d => d.Id == deviceId && d.RevokedAt == null, cancellationToken);
}
