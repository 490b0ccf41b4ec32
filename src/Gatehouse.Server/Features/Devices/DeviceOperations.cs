using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>Devices (register, list, get, revoke) and device-bound sessions (create, get, validate, end).</summary>
public static class DeviceOperations
{
    public static async Task<Results<ApiCreated<DeviceView>, ApiError>> Register(
        string orgId, RegisterDeviceRequest request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("userId", request.UserId, 256).Optional("name", request.Name, 100);
        var keyProblem = DeviceKeys.Check(request.PublicKeyJwk, out var canonical, out var thumbprint);
        if (keyProblem is not null)
        {
            validation.Add("publicKeyJwk", keyProblem);
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var (app, error) = await flow.FindAppAsync(httpContext.RequirePrincipal(), orgId, request.AppId, request.GatewayUuid, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (await flow.CheckUserAsync(orgId, request.UserId!, cancellationToken) is { } unknownUser)
        {
            return unknownUser;
        }

        if (await flow.Db.Owned<Device>(orgId).AnyAsync(d => d.AppId == app!.Id && d.KeyThumbprint == thumbprint, cancellationToken))
        {
            return ApiError.Conflict("A device with this public key is already registered for the app.");
        }

        var device = NewDevice(flow, app!, request.UserId!, request.Name, canonical, thumbprint);
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountRegistration(DeviceKeys.KeyType);
        return new ApiCreated<DeviceView>(DeviceView.From(device));
    }

    /// <summary>A new device of <paramref name="app"/> (tracked and recorded; the caller commits).</summary>
    internal static Device NewDevice(DeviceFlow flow, DeviceApp app, string userId, string? name, string canonicalJwk, string thumbprint) =>
        Add(flow, app, new Device
        {
            Id = Ids.New("dev", flow.Clock.GetUtcNow()),
            OrgId = app.OrgId,
            AppId = app.Id,
            UserId = userId,
            Name = name,
            PublicKeyJwk = canonicalJwk,
            KeyThumbprint = thumbprint,
            CreatedAt = flow.Now,
        });

    /// <summary>A new WebAuthn device of <paramref name="app"/>: its key is the credential (tracked and recorded; the caller commits).</summary>
    internal static Device NewDevice(DeviceFlow flow, DeviceApp app, string userId, string? name, WebAuthnCredential credential) =>
        Add(flow, app, new Device
        {
            Id = Ids.New("dev", flow.Clock.GetUtcNow()),
            OrgId = app.OrgId,
            AppId = app.Id,
            UserId = userId,
            Name = name,
            KeyType = WebAuthnDevices.KeyType,
            PublicKeyJwk = "",
            KeyThumbprint = WebAuthnDevices.Thumbprint(System.Buffers.Text.Base64Url.DecodeFromChars(credential.CredentialId)),
            CredentialId = credential.CredentialId,
            CosePublicKey = credential.CosePublicKey,
            SignCount = credential.SignCount,
            Aaguid = credential.Aaguid,
            UserVerified = credential.UserVerified,
            RpId = credential.RpId,
            CreatedAt = flow.Now,
        });

    private static Device Add(DeviceFlow flow, DeviceApp app, Device device)
    {
        flow.Db.Add(device);
        flow.Changes.Record(DeviceActions.Register, app.OrgId, device.Id, new { device.UserId, device.AppId, device.KeyThumbprint, device.KeyType });
        return device;
    }

    public static async Task<Results<ApiPage<DeviceView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? userId, [FromQuery] string? appId, DeviceFlow flow, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = flow.Db.Owned<Device>(orgId);
        if (userId is not null)
        {
            query = query.Where(d => d.UserId == userId);
        }

        if (appId is not null)
        {
            query = query.Where(d => d.AppId == appId);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var devices = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<DeviceView>([.. devices.Select(DeviceView.From)], page.Paginate(total));
    }

    public static async Task<Results<ApiOk<DeviceView>, ApiError>> Get(string orgId, string deviceId, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var device = await flow.Db.Owned<Device>(orgId).FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        return device is null ? ApiError.NotFound("device") : new ApiOk<DeviceView>(DeviceView.From(device));
    }

    /// <summary>Revokes the device and ends its live sessions in one transaction; revoking a revoked device changes nothing.</summary>
    public static async Task<Results<ApiOk<DeviceView>, ApiError>> Revoke(string orgId, string deviceId, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var device = await flow.Db.Owned<Device>(orgId).FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return ApiError.NotFound("device");
        }

        if (device.RevokedAt is null)
        {
            await RevokeAsync(flow, device, "device_revoked", cancellationToken);
            await flow.Changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<DeviceView>(DeviceView.From(device));
    }

    /// <summary>Marks <paramref name="device"/> revoked and ends its live sessions (tracked and recorded; the caller commits).</summary>
    internal static async Task RevokeAsync(DeviceFlow flow, Device device, string reason, CancellationToken cancellationToken)
    {
        var now = flow.Now;
        device.RevokedAt = now;
        var live = await flow.Db.Owned<DeviceSession>(device.OrgId).Where(s => s.DeviceId == device.Id && s.EndedAt == null && s.ExpiresAt > now).ToListAsync(cancellationToken);
        foreach (var session in live)
        {
            flow.End(session, reason);
        }

        flow.Changes.Record(DeviceActions.Revoke, device.OrgId, device.Id, new { device.UserId, device.AppId, sessionsEnded = live.Count });
    }

    public static async Task<Results<ApiCreated<DeviceSessionView>, ApiError>> CreateSession(
        string orgId, CreateDeviceSessionRequest request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("userId", request.UserId, 256).Required("deviceId", request.DeviceId, 64).Optional("externalSessionId", request.ExternalSessionId, 256);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var device = await flow.Db.Owned<Device>(orgId).FirstOrDefaultAsync(d => d.Id == request.DeviceId, cancellationToken);
        if (device is null)
        {
            return ApiError.NotFound("device");
        }

        if (device.UserId != request.UserId)
        {
            return ApiError.Validation("userId", "must be the user the device belongs to");
        }

        if (device.RevokedAt is not null)
        {
            return ApiError.Validation("deviceId", "the device is revoked");
        }

        if (await flow.CheckUserAsync(orgId, device.UserId, cancellationToken) is { } disabledUser)
        {
            return disabledUser;
        }

        var app = await flow.Db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == device.AppId, cancellationToken);
        if (app is null)
        {
            return ApiError.NotFound("device");
        }

        // A device session is a credential of the app's user, not of this API: it carries no platform permission.
        if (Escalation.Authorize(httpContext, before: null, after: new Grant([])) is { } forbidden)
        {
            return forbidden;
        }

        var session = flow.NewSession(app, device.UserId, device.Id, request.ExternalSessionId);
        flow.Changes.Record(DeviceActions.SessionCreate, orgId, session.Id, new { session.DeviceId, session.UserId, session.AppId });
        await flow.Changes.CommitAsync(cancellationToken);
        return new ApiCreated<DeviceSessionView>(DeviceSessionView.From(session, flow.Now));
    }

    public static async Task<Results<ApiOk<DeviceSessionView>, ApiError>> GetSession(string orgId, string sessionId, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var session = await flow.Db.Owned<DeviceSession>(orgId).AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
        return session is null ? ApiError.NotFound("session") : new ApiOk<DeviceSessionView>(DeviceSessionView.From(session, flow.Now));
    }

    /// <summary>
    /// Valid only when the session is live, its device is not revoked, and the proof is the device's
    /// signature over a challenge issued for this session, unused and younger than the app's
    /// <c>proofMaxAgeSeconds</c>. A known session reads nothing but the challenge it consumes.
    /// </summary>
    public static async Task<Results<ApiOk<ValidateDeviceSessionResponse>, ApiError>> ValidateSession(
        string orgId, string sessionId, ValidateDeviceSessionRequest? request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var entry = await flow.LoadAsync(sessionId, cancellationToken);
        if (entry is null || !string.Equals(entry.Session.OrgId, orgId, StringComparison.Ordinal))
        {
            return ApiError.NotFound("session");
        }

        var now = flow.Now;
        var reason = await InvalidReasonAsync(entry, request?.Proof, httpContext, flow, now, cancellationToken);
        flow.Metrics.CountValidation(reason is null);
        return new ApiOk<ValidateDeviceSessionResponse>(new ValidateDeviceSessionResponse(reason is null, reason, DeviceSessionView.From(entry.Session, now)));
    }

    private static async Task<string?> InvalidReasonAsync(
        CachedDeviceSession entry, SessionProof? proof, HttpContext httpContext, DeviceFlow flow, DateTime now, CancellationToken cancellationToken)
    {
        if (entry.Session.EndedAt is not null)
        {
            return "ended";
        }

        if (now >= entry.Session.ExpiresAt)
        {
            return "expired";
        }

        if (entry.DeviceRevoked)
        {
            return "device_revoked";
        }

        if (entry.KeyType == WebAuthnDevices.KeyType)
        {
            return await InvalidWebAuthnReasonAsync(entry, proof?.Webauthn, httpContext, flow, now, cancellationToken);
        }

        if (proof?.Nonce is not { Length: > 0 and <= 100 } nonce || proof.Signature is null)
        {
            return "proof_required";
        }

        if (!entry.Verify(DeviceKeys.SessionMessage(entry.Session.Id, nonce), proof.Signature))
        {
            return "invalid_proof";
        }

        // Single use across every node: the one UPDATE that marks the challenge used is the check.
        var hash = flow.Secrets.Hash(nonce);
        var sessionId = entry.Session.Id;
        var consumed = await flow.Db.Owned<DeviceChallenge>(entry.Session.OrgId)
            .Where(c => c.Hash == hash && c.SessionId == sessionId && c.UsedAt == null && c.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.UsedAt, now), cancellationToken);
        return consumed == 1 ? null : "invalid_proof";
    }

    /// <summary>
    /// A WebAuthn device proves a session with an assertion over a challenge issued for the session
    /// (<c>POST /device/webauthn/assert-options {sessionId}</c>), made on Gatehouse's origin or one of the
    /// app's allowed origins, whose counter grew. The device row is read for its counter, which the
    /// proof advances; a counter that went back is refused as a possible clone and recorded.
    /// </summary>
    private static async Task<string?> InvalidWebAuthnReasonAsync(
        CachedDeviceSession entry, WebAuthnAssertion? assertion, HttpContext httpContext, DeviceFlow flow, DateTime now, CancellationToken cancellationToken)
    {
        if (assertion is null)
        {
            return "proof_required";
        }

        var session = entry.Session;
        var nonce = WebAuthnDevices.ChallengeOf(assertion.Response?.ClientDataJson);
        if (nonce is null || !await DeviceBrowserEndpoints.ChallengeLiveAsync(flow, session.OrgId, nonce, null, session.Id, cancellationToken))
        {
            return "invalid_proof";
        }

        var device = await flow.Db.Owned<Device>(session.OrgId).FirstOrDefaultAsync(d => d.Id == session.DeviceId, cancellationToken);
        if (device is null || device.RevokedAt is not null)
        {
            return "device_revoked";
        }

        var origins = WebAuthnDevices.ProofOrigins(httpContext, flow.Options, entry.AllowedOrigins);
        var outcome = await WebAuthnDevices.VerifyAssertionAsync(device, origins, nonce, assertion, cancellationToken);
        if (outcome.Problem is not null && !outcome.CounterRegressed)
        {
            return "invalid_proof";
        }

        var hash = flow.Secrets.Hash(nonce);
        var sessionId = session.Id;
        var consumed = await flow.Db.Owned<DeviceChallenge>(session.OrgId)
            .Where(c => c.Hash == hash && c.SessionId == sessionId && c.UsedAt == null && c.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.UsedAt, now), cancellationToken);
        if (consumed != 1)
        {
            return "invalid_proof";
        }

        if (outcome.CounterRegressed)
        {
            flow.Changes.Record(DeviceActions.Failed, session.OrgId, session.Id,
                new { reason = WebAuthnAssertionOutcome.SignCountRegression, deviceId = device.Id, sessionId = session.Id, keyType = device.KeyType });
            await flow.Changes.CommitAsync(cancellationToken);
            return WebAuthnAssertionOutcome.SignCountRegression;
        }

        // Versioned: of two proofs racing with one counter, the second commit loses (409).
        device.SignCount = outcome.SignCount;
        device.UserVerified = outcome.UserVerified;
        device.LastSeenAt = now;
        await flow.Changes.CommitAsync(cancellationToken);
        return null;
    }

    public static async Task<Results<ApiOk<DeviceSessionView>, ApiError>> EndSession(
        string orgId, string sessionId, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var session = await flow.Db.Owned<DeviceSession>(orgId).FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
        if (session is null)
        {
            return ApiError.NotFound("session");
        }

        // Ending a session takes a credential away; it grants nothing.
        if (Escalation.Authorize(httpContext, before: new Grant([]), after: null) is { } forbidden)
        {
            return forbidden;
        }

        if (session.EndedAt is null)
        {
            flow.End(session, "ended_by_app");
            await flow.Changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<DeviceSessionView>(DeviceSessionView.From(session, flow.Now));
    }
}
