using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// The browser endpoints of a WebAuthn device key (decision 0026): options and result of a registration,
/// options and result of an assertion. They obey the rules of the other browser endpoints (per-IP limit,
/// the app's allowed origins, plain JSON errors) and end the same way: the redirect with the one-time token.
/// The relying party is the origin the page runs on — Gatehouse's own, or an allowed origin of the app
/// when its first-party proxy serves the page — never an origin the request merely claims.
/// </summary>
internal static class DeviceWebAuthnEndpoints
{
    /// <summary>Options of <c>navigator.credentials.create</c> for the request's user, with a new single-use challenge.</summary>
    public static async Task<IResult> RegisterOptions(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, authRequest, app, rp, problem) = await ReadRequestAsync(httpContext, flow, limiter, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var nonce = DeviceKeys.NewSecret("");
        var challenge = await DeviceBrowserEndpoints.NewChallengeAsync(flow, nonce, app!, authRequest!, cancellationToken);
        var options = WebAuthnDevices.RegistrationOptionsJson(rp!, nonce, app!, authRequest!.UserId);
        return Results.Json(new WebAuthnOptionsResponse(options, DeviceBrowserEndpoints.KeySlot(app!.Id, authRequest.UserId), challenge.ExpiresAt), DeviceBrowserEndpoints.Json);
    }

    /// <summary>First use: the new credential, over a challenge of this request, becomes the user's device.</summary>
    public static async Task<IResult> Register(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, authRequest, app, rp, problem) = await ReadRequestAsync(httpContext, flow, limiter, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (body!.Attestation is not { } attestation)
        {
            return DeviceBrowserEndpoints.Fail(400, "invalid_request", "Send attestation: the credential navigator.credentials.create made.");
        }

        var nonce = WebAuthnDevices.ChallengeOf(attestation.Response?.ClientDataJson);
        if (nonce is null || !await DeviceBrowserEndpoints.ChallengeLiveAsync(flow, app!.OrgId, nonce, authRequest!.Id, null, cancellationToken))
        {
            return InvalidChallenge();
        }

        var (credential, refused) = await WebAuthnDevices.VerifyRegistrationAsync(rp!, nonce, app, authRequest.UserId, attestation, cancellationToken);
        if (credential is null)
        {
            return DeviceBrowserEndpoints.Fail(401, "invalid_attestation", "The credential was refused: " + refused);
        }

        if (!await DeviceBrowserEndpoints.ConsumeAsync(flow, app.OrgId, nonce, authRequest.Id, cancellationToken))
        {
            return InvalidChallenge();
        }

        var thumbprint = WebAuthnDevices.Thumbprint(System.Buffers.Text.Base64Url.DecodeFromChars(credential.CredentialId));
        if (await flow.Db.Owned<Device>(app.OrgId).AnyAsync(d => d.AppId == app.Id && d.KeyThumbprint == thumbprint, cancellationToken))
        {
            return DeviceBrowserEndpoints.Fail(409, "already_registered", "This credential is already registered; assert it instead.");
        }

        var device = DeviceOperations.NewDevice(flow, app, authRequest.UserId, DeviceBrowserEndpoints.DeviceName(httpContext), credential);
        device.LastSeenAt = flow.Now;
        var redirect = DeviceBrowserEndpoints.Complete(flow, authRequest, device.Id, newDevice: true);
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountRegistration(WebAuthnDevices.KeyType);
        return Results.Json(new DeviceBrowserResult(device.Id, true, redirect), DeviceBrowserEndpoints.Json);
    }

    /// <summary>
    /// Options of <c>navigator.credentials.get</c> for a WebAuthn device: of an auth request (<c>{request, deviceId}</c>)
    /// or of a device-bound session's proof (<c>{sessionId}</c>, for <c>POST …/sessions/{id}/validate</c>).
    /// </summary>
    public static async Task<IResult> AssertOptions(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, problem) = await DeviceBrowserEndpoints.ReadAsync(httpContext, flow, limiter);
        if (problem is not null)
        {
            return problem;
        }

        var nonce = DeviceKeys.NewSecret("");
        if (body!.Request is null && body.SessionId is { Length: <= 64 } sessionId)
        {
            var now = flow.Now;
            var session = await flow.Db.Set<DeviceSession>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
            var sessionApp = session is null ? null : await DeviceBrowserEndpoints.AppAsync(flow, session.OrgId, session.AppId, cancellationToken);
            var sessionDevice = session is null ? null : await flow.Db.Owned<Device>(session.OrgId).AsNoTracking().FirstOrDefaultAsync(d => d.Id == session.DeviceId, cancellationToken);
            if (session is null || sessionApp is null || sessionDevice is null || session.EndedAt is not null || session.ExpiresAt <= now || sessionDevice.RevokedAt is not null)
            {
                return DeviceBrowserEndpoints.Fail(404, "unknown_session", "The session is unknown or has ended.");
            }

            if (DeviceBrowserEndpoints.OriginRefused(httpContext, sessionApp) is { } refused)
            {
                return refused;
            }

            if (sessionDevice.KeyType != WebAuthnDevices.KeyType)
            {
                return DeviceBrowserEndpoints.Fail(400, "not_webauthn", "The session's device has no WebAuthn credential; prove it with POST /device/challenge.");
            }

            var sessionChallenge = await DeviceBrowserEndpoints.NewChallengeAsync(flow, nonce, sessionApp, session, cancellationToken);
            return Results.Json(new WebAuthnOptionsResponse(WebAuthnDevices.AssertionOptionsJson(sessionDevice, nonce),
                DeviceBrowserEndpoints.KeySlot(sessionApp.Id, session.UserId), sessionChallenge.ExpiresAt), DeviceBrowserEndpoints.Json);
        }

        var (authRequest, app, rp, requestProblem) = await WebAuthnRequestAsync(httpContext, flow, body, cancellationToken);
        if (requestProblem is not null)
        {
            return requestProblem;
        }

        var (device, deviceProblem) = await WebAuthnDeviceAsync(flow, app!, authRequest!, rp!, body.DeviceId, cancellationToken);
        if (deviceProblem is not null)
        {
            return deviceProblem;
        }

        var challenge = await DeviceBrowserEndpoints.NewChallengeAsync(flow, nonce, app!, authRequest!, cancellationToken);
        return Results.Json(new WebAuthnOptionsResponse(WebAuthnDevices.AssertionOptionsJson(device!, nonce),
            DeviceBrowserEndpoints.KeySlot(app!.Id, authRequest!.UserId), challenge.ExpiresAt), DeviceBrowserEndpoints.Json);
    }

    /// <summary>A known WebAuthn device's assertion over a challenge of this request: the one-time token, or a refusal.</summary>
    public static async Task<IResult> Assert(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, authRequest, app, rp, problem) = await ReadRequestAsync(httpContext, flow, limiter, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var (device, deviceProblem) = await WebAuthnDeviceAsync(flow, app!, authRequest!, rp!, body!.DeviceId, cancellationToken);
        if (deviceProblem is not null)
        {
            return deviceProblem;
        }

        if (body.Assertion is not { } assertion)
        {
            return DeviceBrowserEndpoints.Fail(400, "invalid_request", "Send assertion: the answer of navigator.credentials.get.");
        }

        var nonce = WebAuthnDevices.ChallengeOf(assertion.Response?.ClientDataJson);
        if (nonce is null || !await DeviceBrowserEndpoints.ChallengeLiveAsync(flow, app!.OrgId, nonce, authRequest!.Id, null, cancellationToken))
        {
            return InvalidChallenge();
        }

        var outcome = await WebAuthnDevices.VerifyAssertionAsync(device!, new HashSet<string> { rp!.Origin }, nonce, assertion, cancellationToken);
        if (outcome.CounterRegressed)
        {
            // A counter that did not grow: another copy of the credential signed in between (a cloned
            // authenticator), or this answer is older than one already seen. The challenge is spent either way.
            await DeviceBrowserEndpoints.ConsumeAsync(flow, app.OrgId, nonce, authRequest.Id, cancellationToken);
            return await DeviceBrowserEndpoints.RefuseAsync(flow, authRequest, device!, WebAuthnAssertionOutcome.SignCountRegression,
                "This device's authenticator counter went back: it may have been cloned.", cancellationToken);
        }

        if (outcome.Problem is not null)
        {
            return DeviceBrowserEndpoints.Fail(401, "invalid_assertion", "The assertion was refused: " + outcome.Problem);
        }

        if (!await DeviceBrowserEndpoints.ConsumeAsync(flow, app.OrgId, nonce, authRequest.Id, cancellationToken))
        {
            return InvalidChallenge();
        }

        // Tracked and versioned: of two answers racing with one counter, the second commit loses (409).
        device!.SignCount = outcome.SignCount;
        device.UserVerified = outcome.UserVerified;
        device.LastSeenAt = flow.Now;
        var redirect = DeviceBrowserEndpoints.Complete(flow, authRequest, device.Id, newDevice: false);
        await flow.Changes.CommitAsync(cancellationToken);
        return Results.Json(new DeviceBrowserResult(device.Id, false, redirect), DeviceBrowserEndpoints.Json);
    }

    private static IResult InvalidChallenge() =>
        DeviceBrowserEndpoints.Fail(400, "invalid_challenge", "The challenge is unknown, used or expired; ask for new options.");

    /// <summary>Reads the body (the per-IP limit, media type and size first), then its request as <see cref="WebAuthnRequestAsync"/>.</summary>
    private static async Task<(DeviceBrowserRequest? Body, DeviceAuthRequest? Request, DeviceApp? App, RelyingParty? Rp, IResult? Problem)> ReadRequestAsync(
        HttpContext httpContext, DeviceFlow flow, RateLimiter limiter, CancellationToken cancellationToken)
    {
        var (body, problem) = await DeviceBrowserEndpoints.ReadAsync(httpContext, flow, limiter);
        if (problem is not null)
        {
            return (null, null, null, null, problem);
        }

        var (authRequest, app, rp, refused) = await WebAuthnRequestAsync(httpContext, flow, body!, cancellationToken);
        return (body, authRequest, app, rp, refused);
    }

    /// <summary>The pending auth request of the body, its app (which must use WebAuthn), and the page's relying party.</summary>
    private static async Task<(DeviceAuthRequest? Request, DeviceApp? App, RelyingParty? Rp, IResult? Problem)> WebAuthnRequestAsync(
        HttpContext httpContext, DeviceFlow flow, DeviceBrowserRequest body, CancellationToken cancellationToken)
    {
        var (authRequest, app, refused) = await DeviceBrowserEndpoints.RequestOfAsync(httpContext, flow, body.Request, cancellationToken);
        if (refused is not null)
        {
            return (null, null, null, refused);
        }

        if (app!.Webauthn == WebAuthnMode.Off)
        {
            return (null, null, null, DeviceBrowserEndpoints.Fail(403, "webauthn_disabled", "This app does not use WebAuthn device keys."));
        }

        var rp = WebAuthnDevices.PageRelyingParty(httpContext, app, flow.Options);
        return rp is null
            ? (null, null, null, DeviceBrowserEndpoints.Fail(403, "origin_not_allowed", "This origin is not one of the app's allowed origins."))
            : (authRequest, app, rp, null);
    }

    /// <summary>The request user's WebAuthn device <paramref name="deviceId"/>, scoped to this page's relying party; a revoked one is refused.</summary>
    private static async Task<(Device? Device, IResult? Problem)> WebAuthnDeviceAsync(
        DeviceFlow flow, DeviceApp app, DeviceAuthRequest authRequest, RelyingParty rp, string? deviceId, CancellationToken cancellationToken)
    {
        var device = await DeviceBrowserEndpoints.DeviceOfAsync(flow, app, authRequest, deviceId, cancellationToken);
        if (device is null || device.KeyType != WebAuthnDevices.KeyType || !string.Equals(device.RpId, rp.Id, StringComparison.OrdinalIgnoreCase))
        {
            // A credential of another site (the page moved between Gatehouse's origin and the app's proxy) is unknown here, as a WebCrypto key would be.
            return (null, DeviceBrowserEndpoints.Fail(404, "unknown_device", "This device is not registered for the user on this site; register it."));
        }

        return device.RevokedAt is not null
            ? (null, await DeviceBrowserEndpoints.RefuseAsync(flow, authRequest, device, "device_revoked", "This device was revoked.", cancellationToken))
            : (device, null);
    }
}
