using Gatehouse.Contracts;
using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>The app backend's side of the flow: the auth URL, the token exchange (verify) and refresh.</summary>
public static class DeviceAuthOperations
{
    public const string InvalidTokenMessage = "The device verification token is not valid.";
    public const string InvalidRefreshMessage = "The refresh token is not valid.";

    public static async Task<Results<ApiOk<DeviceAuthUrlResponse>, ApiError>> Url(
        DeviceAuthUrlRequest request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("userId", request.UserId, 256).Optional("sessionId", request.SessionId, 256).Required("redirectUrl", request.RedirectUrl, 2048);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var (app, error) = await flow.FindAppAsync(httpContext.RequirePrincipal(), orgId: null, request.AppId, request.GatewayUuid, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        // Exact match only: no prefix, no case folding, no added path or query (no open redirect).
        if (!app!.RedirectUrls.Contains(request.RedirectUrl!, StringComparer.Ordinal))
        {
            return ApiError.Validation("redirectUrl", "must be exactly one of the app's redirectUrls");
        }

        if (await flow.CheckUserAsync(app.OrgId, request.UserId!, cancellationToken) is { } unknownUser)
        {
            return unknownUser;
        }

        var now = flow.Now;
        var authRequest = new DeviceAuthRequest
        {
            Id = Ids.New("dar", flow.Clock.GetUtcNow()),
            OrgId = app.OrgId,
            AppId = app.Id,
            UserId = request.UserId!,
            ExternalSessionId = request.SessionId,
            RedirectUrl = request.RedirectUrl!,
            CreatedAt = now,
            ExpiresAt = now.AddSeconds(flow.Options.AuthRequestTtlSeconds),
        };
        flow.Db.Add(authRequest);
        await flow.Changes.CommitAsync(cancellationToken);
        var baseUrl = flow.Options.PublicUrl?.TrimEnd('/') ?? $"{httpContext.Request.Scheme}://{httpContext.Request.Host.Value}";
        var url = $"{baseUrl}{DeviceBrowserEndpoints.AuthPagePath}?request={Uri.EscapeDataString(authRequest.Id)}";
        return new ApiOk<DeviceAuthUrlResponse>(new DeviceAuthUrlResponse(url, authRequest.Id, authRequest.ExpiresAt));
    }

    /// <summary>
    /// Accepts a token once, before it expires, for the user (and app, when named) it was issued to,
    /// by a credential of its organization. Every refusal is the same 401 (the reason goes to the audit trail).
    /// </summary>
    public static async Task<Results<ApiOk<DeviceAuthVerifyResponse>, ApiError>> Verify(
        DeviceAuthVerifyRequest request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("token", request.Token, 200).Required("userId", request.UserId, 256);
        if (request.AppId is not null && request.GatewayUuid is not null && request.AppId != request.GatewayUuid)
        {
            validation.Add("gatewayUuid", "must equal appId when both are sent");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var principal = httpContext.RequirePrincipal();
        var now = flow.Now;
        var hash = flow.Secrets.Hash(request.Token!);
        var authRequest = await flow.Db.Set<DeviceAuthRequest>().AsNoTracking().FirstOrDefaultAsync(r => r.TokenHash == hash, cancellationToken);
        var expectedApp = request.AppId ?? request.GatewayUuid;
        var reason = authRequest switch
        {
            null => "unknown_token",
            _ when !principal.CanAccessOrg(authRequest.OrgId) => "unknown_token",
            { UsedAt: not null } => "token_used",
            _ when authRequest.TokenExpiresAt is not { } expires || expires <= now => "token_expired",
            _ when !Gatehouse.Crypto.SecretComparison.AreEqual(authRequest.UserId, request.UserId!) => "user_mismatch",
            _ when expectedApp is not null && expectedApp != authRequest.AppId => "app_mismatch",
            _ => null,
        };

        // The one UPDATE that marks the token used is what makes it single-use across nodes.
        if (reason is null)
        {
            var requestId = authRequest!.Id;
            var consumed = await flow.Db.Owned<DeviceAuthRequest>(authRequest.OrgId).Where(r => r.Id == requestId && r.UsedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.UsedAt, now), cancellationToken);
            reason = consumed == 1 ? null : "token_used";
        }

        var app = reason is null ? await flow.Db.Owned<DeviceApp>(authRequest!.OrgId).FirstOrDefaultAsync(a => a.Id == authRequest.AppId, cancellationToken) : null;
        var device = app is null ? null : await flow.Db.Owned<Device>(app.OrgId).FirstOrDefaultAsync(d => d.Id == authRequest!.DeviceId, cancellationToken);
        if (reason is null && (device is null || device.RevokedAt is not null))
        {
            reason = "device_revoked";
        }

        if (reason is not null)
        {
            var failedOrg = authRequest is not null && principal.CanAccessOrg(authRequest.OrgId) ? authRequest.OrgId : principal.OrgId;
            flow.Changes.Record(DeviceActions.Failed, failedOrg, authRequest is not null && failedOrg == authRequest.OrgId ? authRequest.Id : null, new { reason });
            await flow.Changes.CommitAsync(cancellationToken);
            flow.Metrics.CountVerification(verified: false);
            return InvalidToken(InvalidTokenMessage);
        }

        var session = flow.NewSession(app!, authRequest!.UserId, device!.Id, authRequest.ExternalSessionId);
        var refreshToken = flow.IssueRefreshToken(session);
        flow.Changes.Record(DeviceActions.SessionCreate, session.OrgId, session.Id, new { session.DeviceId, session.UserId, session.AppId });
        flow.Changes.Record(DeviceActions.Verified, session.OrgId, authRequest.Id, new { deviceId = device.Id, session.UserId, newDevice = authRequest.NewDevice, sessionId = session.Id });
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountVerification(verified: true);
        return new ApiOk<DeviceAuthVerifyResponse>(new DeviceAuthVerifyResponse(
            true, device.Id, session.UserId, authRequest.ExternalSessionId, authRequest.NewDevice, new DeviceSessionSummary(session.Id, session.ExpiresAt), refreshToken));
    }

    /// <summary>
    /// Renews a live session for the app's session TTL and rotates the refresh token. A refresh token
    /// used before is a stolen copy or a replay: the session it belongs to ends.
    /// </summary>
    public static async Task<Results<ApiOk<DeviceAuthRefreshResponse>, ApiError>> Refresh(
        DeviceAuthRefreshRequest request, HttpContext httpContext, DeviceFlow flow, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("refreshToken", request.RefreshToken, 200);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var principal = httpContext.RequirePrincipal();
        var now = flow.Now;
        var hash = flow.Secrets.Hash(request.RefreshToken!);
        var stored = await flow.Db.Set<DeviceRefreshToken>().AsNoTracking().FirstOrDefaultAsync(t => t.Hash == hash, cancellationToken);
        if (stored is null || !principal.CanAccessOrg(stored.OrgId))
        {
            return InvalidToken(InvalidRefreshMessage);
        }

        var session = await flow.Db.Owned<DeviceSession>(stored.OrgId).FirstOrDefaultAsync(s => s.Id == stored.SessionId, cancellationToken);
        if (session is null)
        {
            return InvalidToken(InvalidRefreshMessage);
        }

        var consumed = stored.UsedAt is null
            && await flow.Db.Owned<DeviceRefreshToken>(stored.OrgId).Where(t => t.Hash == hash && t.UsedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(t => t.UsedAt, now), cancellationToken) == 1;
        if (!consumed)
        {
            if (session.EndedAt is null)
            {
                flow.End(session, "refresh_token_reused");
                await flow.Changes.CommitAsync(cancellationToken);
            }

            return InvalidToken("The refresh token was already used; the session has ended.");
        }

        var app = await flow.Db.Owned<DeviceApp>(session.OrgId).FirstOrDefaultAsync(a => a.Id == session.AppId, cancellationToken);
        var device = await flow.Db.Owned<Device>(session.OrgId).FirstOrDefaultAsync(d => d.Id == session.DeviceId, cancellationToken);
        if (session.EndedAt is not null || session.ExpiresAt <= now || app is null || device is null || device.RevokedAt is not null)
        {
            return InvalidToken(InvalidRefreshMessage);
        }

        session.ExpiresAt = now.AddSeconds(app.SessionTtlSeconds);
        var refreshToken = flow.IssueRefreshToken(session);
        flow.Changes.Record(DeviceActions.SessionRefresh, session.OrgId, session.Id, new { session.ExpiresAt });
        await flow.Changes.CommitAsync(cancellationToken);
        return new ApiOk<DeviceAuthRefreshResponse>(new DeviceAuthRefreshResponse(new DeviceSessionSummary(session.Id, session.ExpiresAt), refreshToken));
    }

    private static ApiError InvalidToken(string message)
    {
        var error = new ApiError(ErrorCodes.AuthenticationFailed, message);
        error.Headers["WWW-Authenticate"] = "Bearer";
        return error;
    }
}
