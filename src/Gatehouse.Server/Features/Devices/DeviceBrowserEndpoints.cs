using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// What the browser talks to: the hosted page, the agent script, and the challenge, register and
/// prove endpoints (the WebAuthn ones are in <see cref="DeviceWebAuthnEndpoints"/>). They answer plain JSON (<c>{error, message}</c> on failure), carry no
/// credential, are limited per client IP, and answer a cross-origin caller only when its origin is
/// one of the app's <c>allowedOrigins</c> (the page itself is same-origin).
/// </summary>
public static class DeviceBrowserEndpoints
{
    public const string AuthPagePath = "/device/auth";
    public const string AgentPath = "/device/agent.js";
    private const string PagePolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private const int MaxBodyBytes = 16 * 1024;
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
    private static readonly Lazy<string> Agent = new(() => Resource("device-agent.js"));
    private static readonly Lazy<string> Page = new(() => Resource("device-auth.html"));

    internal static void Map(IEndpointRouteBuilder root)
    {
        var browser = root.MapGroup("/device").WithTags("Device auth");
        browser.MapGet("/auth", ServePage).WithName("DeviceAuthPage").Produces(200, contentType: "text/html")
            .WithSummary("The hosted device-verification page (?request= from the auth URL); it runs the agent and returns to the app");
        browser.MapGet("/agent.js", ServeAgent).WithName("DeviceAgentScript").Produces(200, contentType: "text/javascript")
            .WithSummary("The browser agent: GatehouseAgent.authenticate({request}) and GatehouseAgent.prove({sessionId})");
        foreach (var (path, name, summary, handler, answer) in new (string, string, string, Func<HttpContext, DeviceFlow, RateLimiter, Task<IResult>>, Type)[]
        {
            ("/challenge", "DeviceChallenge", "A single-use nonce for an auth request ({request}) or a session proof ({sessionId})", Challenge, typeof(DeviceChallengeResponse)),
            ("/register", "DeviceRegister", "First use: register the agent's public key, signed over the challenge; answers the redirect with the one-time token", Register, typeof(DeviceBrowserResult)),
            ("/prove", "DeviceProve", "A known device signs the challenge; answers the redirect with the one-time token", Prove, typeof(DeviceBrowserResult)),
            ("/webauthn/register-options", "DeviceWebAuthnRegisterOptions", "WebAuthn: options of navigator.credentials.create for an auth request ({request}), with a single-use challenge",
                DeviceWebAuthnEndpoints.RegisterOptions, typeof(WebAuthnOptionsResponse)),
            ("/webauthn/register", "DeviceWebAuthnRegister", "WebAuthn first use: register the new credential ({request, attestation}); answers the redirect with the one-time token",
                DeviceWebAuthnEndpoints.Register, typeof(DeviceBrowserResult)),
            ("/webauthn/assert-options", "DeviceWebAuthnAssertOptions", "WebAuthn: options of navigator.credentials.get for a device ({request, deviceId}) or a session proof ({sessionId})",
                DeviceWebAuthnEndpoints.AssertOptions, typeof(WebAuthnOptionsResponse)),
            ("/webauthn/assert", "DeviceWebAuthnAssert", "WebAuthn: a known device's assertion ({request, deviceId, assertion}); answers the redirect with the one-time token",
                DeviceWebAuthnEndpoints.Assert, typeof(DeviceBrowserResult)),
        })
        {
            browser.MapPost(path, handler).WithName(name).WithSummary(summary)
                .Accepts<DeviceBrowserRequest>("application/json")
                .Produces(200, answer)
                .Produces<DeviceBrowserError>(400).Produces<DeviceBrowserError>(401).Produces<DeviceBrowserError>(403).Produces<DeviceBrowserError>(404)
                .Produces<DeviceBrowserError>(409).Produces<DeviceBrowserError>(413).Produces<DeviceBrowserError>(415).Produces<DeviceBrowserError>(429);
            browser.MapMethods(path, ["OPTIONS"], Preflight).WithName(name + "Preflight").Produces(204).WithSummary("CORS preflight (the POST checks the origin against the app)");
        }
    }

    private static IResult ServePage(HttpContext httpContext)
    {
        httpContext.Response.Headers.ContentSecurityPolicy = PagePolicy;
        httpContext.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Results.Content(Page.Value, "text/html; charset=utf-8");
    }

    private static IResult ServeAgent(HttpContext httpContext)
    {
        // Apps load the agent from their own pages.
        httpContext.Response.Headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        return Results.Content(Agent.Value, "text/javascript; charset=utf-8");
    }

    /// <summary>
    /// A preflight may go ahead from any origin: it has no effect, and every POST checks its origin
    /// against the app it names before it does anything.
    /// </summary>
    private static IResult Preflight(HttpContext httpContext)
    {
        var origin = httpContext.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            httpContext.Response.Headers.AccessControlAllowOrigin = origin;
            httpContext.Response.Headers.AccessControlAllowMethods = "POST";
            httpContext.Response.Headers.AccessControlAllowHeaders = "Content-Type";
            httpContext.Response.Headers.AccessControlMaxAge = "600";
            httpContext.Response.Headers.Vary = "Origin";
        }

        return Results.NoContent();
    }

    /// <summary>A fresh single-use nonce for an auth request (<c>request</c>) or a session proof (<c>sessionId</c>).</summary>
    private static async Task<IResult> Challenge(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, problem) = await ReadAsync(httpContext, flow, limiter);
        if (problem is not null)
        {
            return problem;
        }

        var now = flow.Now;
        DeviceApp? app;
        DeviceChallenge challenge;
        // One shape for both kinds of key: 32 random bytes in base64url, which WebAuthn signs as its challenge.
        var nonce = DeviceKeys.NewSecret("");
        if (body!.Request is { } requestId)
        {
            var authRequest = await PendingRequestAsync(flow, requestId, cancellationToken);
            app = authRequest is null ? null : await AppAsync(flow, authRequest.OrgId, authRequest.AppId, cancellationToken);
            if (authRequest is null || app is null)
            {
                return Fail(404, "unknown_request", "This sign-in link is unknown, used or expired; start again from the app.");
            }

            if (OriginRefused(httpContext, app) is { } refused)
            {
                return refused;
            }

            challenge = await NewChallengeAsync(flow, nonce, app, authRequest, cancellationToken);
            return Results.Json(new DeviceChallengeResponse(nonce, app.Id, KeySlot(app.Id, authRequest.UserId), challenge.ExpiresAt, app.Webauthn), Json);
        }

        if (body.SessionId is { Length: <= 64 } sessionId)
        {
            var session = await flow.Db.Set<DeviceSession>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, cancellationToken);
            app = session is null ? null : await AppAsync(flow, session.OrgId, session.AppId, cancellationToken);
            if (session is null || app is null || session.EndedAt is not null || session.ExpiresAt <= now)
            {
                return Fail(404, "unknown_session", "The session is unknown or has ended.");
            }

            if (OriginRefused(httpContext, app) is { } refused)
            {
                return refused;
            }

            challenge = await NewChallengeAsync(flow, nonce, app, session, cancellationToken);
            return Results.Json(new DeviceChallengeResponse(nonce, app.Id, KeySlot(app.Id, session.UserId), challenge.ExpiresAt, app.Webauthn), Json);
        }

        return Fail(400, "invalid_request", "Send request (an auth request id) or sessionId.");
    }

    /// <summary>First use in this browser: the agent sends its new public key and signs the challenge with the private one.</summary>
    private static async Task<IResult> Register(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, problem) = await ReadAsync(httpContext, flow, limiter);
        if (problem is not null)
        {
            return problem;
        }

        var (authRequest, app, refusedRequest) = await RequestOfAsync(httpContext, flow, body!.Request, cancellationToken);
        if (refusedRequest is not null)
        {
            return refusedRequest;
        }

        if (app!.Webauthn == WebAuthnMode.Required)
        {
            return WebAuthnRequired();
        }

        if (DeviceKeys.Check(body.PublicKeyJwk, out var canonical, out var thumbprint) is { } keyProblem)
        {
            return Fail(400, "invalid_key", "publicKeyJwk " + keyProblem);
        }

        using (var key = DeviceKeys.Load(canonical))
        {
            if (body.Nonce is null || !DeviceKeys.Verify(key, DeviceKeys.AuthMessage(authRequest!.Id, body.Nonce), body.Signature))
            {
                return Fail(401, "invalid_signature", "The signature does not match the key.");
            }
        }

        if (!await ConsumeAsync(flow, authRequest.OrgId, body.Nonce, authRequest.Id, cancellationToken))
        {
            return Fail(400, "invalid_challenge", "The challenge is unknown, used or expired; ask for a new one.");
        }

        if (await flow.Db.Owned<Device>(app.OrgId).AnyAsync(d => d.AppId == app.Id && d.KeyThumbprint == thumbprint, cancellationToken))
        {
            return Fail(409, "already_registered", "This key is already registered; prove it instead.");
        }

        var device = DeviceOperations.NewDevice(flow, app, authRequest.UserId, DeviceName(httpContext), canonical, thumbprint);
        device.LastSeenAt = flow.Now;
        var redirect = Complete(flow, authRequest, device.Id, newDevice: true);
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountRegistration(DeviceKeys.KeyType);
        return Results.Json(new DeviceBrowserResult(device.Id, true, redirect), Json);
    }

    /// <summary>A known browser: the agent signs the challenge with the key it registered before.</summary>
    private static async Task<IResult> Prove(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var cancellationToken = httpContext.RequestAborted;
        var (body, problem) = await ReadAsync(httpContext, flow, limiter);
        if (problem is not null)
        {
            return problem;
        }

        var (authRequest, app, refusedRequest) = await RequestOfAsync(httpContext, flow, body!.Request, cancellationToken);
        if (refusedRequest is not null)
        {
            return refusedRequest;
        }

        var device = await DeviceOfAsync(flow, app!, authRequest!, body.DeviceId, cancellationToken);
        if (device is null || device.KeyType != DeviceKeys.KeyType)
        {
            return Fail(404, "unknown_device", "This device is not registered for the user; register it.");
        }

        if (device.RevokedAt is not null)
        {
            return await RefuseAsync(flow, authRequest!, device, "device_revoked", "This device was revoked.", cancellationToken);
        }

        if (app!.Webauthn == WebAuthnMode.Required)
        {
            return WebAuthnRequired();
        }

        bool signed;
        using (var key = DeviceKeys.Load(device.PublicKeyJwk))
        {
            signed = body.Nonce is not null && DeviceKeys.Verify(key, DeviceKeys.AuthMessage(authRequest!.Id, body.Nonce), body.Signature);
        }

        if (!signed)
        {
            return Fail(401, "invalid_signature", "The signature does not match the device's key.");
        }

        if (!await ConsumeAsync(flow, authRequest!.OrgId, body.Nonce!, authRequest.Id, cancellationToken))
        {
            return Fail(400, "invalid_challenge", "The challenge is unknown, used or expired; ask for a new one.");
        }

        device.LastSeenAt = flow.Now;
        var redirect = Complete(flow, authRequest, device.Id, newDevice: false);
        await flow.Changes.CommitAsync(cancellationToken);
        return Results.Json(new DeviceBrowserResult(device.Id, false, redirect), Json);
    }

    /// <summary>A stored single-use challenge of an auth request (at most five minutes, never past the request).</summary>
    internal static Task<DeviceChallenge> NewChallengeAsync(DeviceFlow flow, string nonce, DeviceApp app, DeviceAuthRequest authRequest, CancellationToken cancellationToken)
    {
        var fiveMinutes = flow.Now.AddMinutes(5);
        return StoreChallengeAsync(flow, nonce, app, authRequest.Id, null, authRequest.ExpiresAt < fiveMinutes ? authRequest.ExpiresAt : fiveMinutes, cancellationToken);
    }

    /// <summary>A stored single-use challenge of a session proof (as old as the app's <c>proofMaxAgeSeconds</c> at most).</summary>
    internal static Task<DeviceChallenge> NewChallengeAsync(DeviceFlow flow, string nonce, DeviceApp app, DeviceSession session, CancellationToken cancellationToken) =>
        StoreChallengeAsync(flow, nonce, app, null, session.Id, flow.Now.AddSeconds(app.ProofMaxAgeSeconds), cancellationToken);

    private static async Task<DeviceChallenge> StoreChallengeAsync(
        DeviceFlow flow, string nonce, DeviceApp app, string? requestId, string? sessionId, DateTime expiresAt, CancellationToken cancellationToken)
    {
        var challenge = new DeviceChallenge
        {
            Hash = flow.Secrets.Hash(nonce),
            OrgId = app.OrgId,
            AppId = app.Id,
            RequestId = requestId,
            SessionId = sessionId,
            CreatedAt = flow.Now,
            ExpiresAt = expiresAt,
        };
        flow.Db.Add(challenge);
        await flow.Db.SaveChangesAsync(cancellationToken);
        return challenge;
    }

    /// <summary>Issues the one-time token on the request and returns the redirect that carries it.</summary>
    internal static string Complete(DeviceFlow flow, DeviceAuthRequest authRequest, string deviceId, bool newDevice)
    {
        var token = DeviceKeys.NewSecret(DeviceFlow.AuthTokenPrefix);
        var now = flow.Now;
        authRequest.DeviceId = deviceId;
        authRequest.NewDevice = newDevice;
        authRequest.TokenHash = flow.Secrets.Hash(token);
        authRequest.TokenExpiresAt = now.AddSeconds(flow.Options.TokenTtlSeconds);
        authRequest.CompletedAt = now;
        return WithQuery(authRequest.RedirectUrl, ("token", token), ("requestId", authRequest.Id));
    }

    /// <summary>The device <paramref name="deviceId"/> of the request's app and user, or null.</summary>
    internal static async Task<Device?> DeviceOfAsync(DeviceFlow flow, DeviceApp app, DeviceAuthRequest authRequest, string? deviceId, CancellationToken cancellationToken)
    {
        var device = deviceId is { Length: <= 64 }
            ? await flow.Db.Owned<Device>(app.OrgId).FirstOrDefaultAsync(d => d.Id == deviceId && d.AppId == app.Id, cancellationToken)
            : null;
        return device is not null && device.UserId == authRequest.UserId ? device : null;
    }

    /// <summary>
    /// A refused device (revoked, or a WebAuthn counter that went back): recorded as <c>device_auth.fail</c>
    /// with the reason, and answered with the app's redirect URL without a token, so the app hears of it.
    /// </summary>
    internal static async Task<IResult> RefuseAsync(DeviceFlow flow, DeviceAuthRequest authRequest, Device device, string reason, string message, CancellationToken cancellationToken)
    {
        flow.Changes.Record(DeviceActions.Failed, authRequest.OrgId, authRequest.Id, new { reason, deviceId = device.Id, keyType = device.KeyType });
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountVerification(verified: false);
        var refusal = new DeviceBrowserError(reason, message, WithQuery(authRequest.RedirectUrl, ("error", reason), ("requestId", authRequest.Id)));
        return Results.Json(refusal, Json, statusCode: 403);
    }

    internal static IResult WebAuthnRequired() =>
        Fail(403, "webauthn_required", "This app requires a WebAuthn device key (a platform authenticator such as Windows Hello, Touch ID or an Android screen lock).");

    internal static string WithQuery(string url, params (string Name, string Value)[] parameters)
    {
        var builder = new StringBuilder(url);
        var separator = url.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        foreach (var (name, value) in parameters)
        {
            builder.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return builder.ToString();
    }

    /// <summary>Where the agent keeps its key in IndexedDB: one key per app and user, named without revealing either.</summary>
    internal static string KeySlot(string appId, string userId) => DeviceKeys.Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(appId + "\n" + userId)))[..22];

    internal static string? DeviceName(HttpContext httpContext)
    {
        var agent = httpContext.Request.Headers.UserAgent.ToString();
        return agent.Length == 0 ? null : agent[..Math.Min(agent.Length, 100)];
    }

    internal static async Task<bool> ConsumeAsync(DeviceFlow flow, string orgId, string nonce, string requestId, CancellationToken cancellationToken)
    {
        var hash = flow.Secrets.Hash(nonce);
        var now = flow.Now;
        return await flow.Db.Owned<DeviceChallenge>(orgId).Where(c => c.Hash == hash && c.RequestId == requestId && c.UsedAt == null && c.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.UsedAt, now), cancellationToken) == 1;
    }

    /// <summary>Whether a challenge of the request (or session) is live and unused, without using it: the check before a WebAuthn answer is verified.</summary>
    internal static Task<bool> ChallengeLiveAsync(DeviceFlow flow, string orgId, string nonce, string? requestId, string? sessionId, CancellationToken cancellationToken)
    {
        var hash = flow.Secrets.Hash(nonce);
        var now = flow.Now;
        return flow.Db.Owned<DeviceChallenge>(orgId)
            .AnyAsync(c => c.Hash == hash && c.RequestId == requestId && c.SessionId == sessionId && c.UsedAt == null && c.ExpiresAt > now, cancellationToken);
    }

    internal static async Task<(DeviceAuthRequest? Request, DeviceApp? App, IResult? Problem)> RequestOfAsync(
        HttpContext httpContext, DeviceFlow flow, string? requestId, CancellationToken cancellationToken)
    {
        var authRequest = requestId is null ? null : await PendingRequestAsync(flow, requestId, cancellationToken);
        var app = authRequest is null ? null : await AppAsync(flow, authRequest.OrgId, authRequest.AppId, cancellationToken);
        if (authRequest is null || app is null)
        {
            return (null, null, Fail(404, "unknown_request", "This sign-in link is unknown, used or expired; start again from the app."));
        }

        return OriginRefused(httpContext, app) is { } refused ? (null, null, refused) : (authRequest, app, null);
    }

    internal static async Task<DeviceAuthRequest?> PendingRequestAsync(DeviceFlow flow, string requestId, CancellationToken cancellationToken)
    {
        if (requestId.Length > 64)
        {
            return null;
        }

        var now = flow.Now;
        var authRequest = await flow.Db.Set<DeviceAuthRequest>().FirstOrDefaultAsync(r => r.Id == requestId, cancellationToken);
        return authRequest is { CompletedAt: null } && authRequest.ExpiresAt > now ? authRequest : null;
    }

    internal static Task<DeviceApp?> AppAsync(DeviceFlow flow, string orgId, string appId, CancellationToken cancellationToken) =>
        flow.Db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == appId, cancellationToken);

    /// <summary>Same origin, no Origin (not a browser), or one of the app's allowed origins (then answered with CORS headers).</summary>
    internal static IResult? OriginRefused(HttpContext httpContext, DeviceApp app)
    {
        var origin = httpContext.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || string.Equals(origin, $"{httpContext.Request.Scheme}://{httpContext.Request.Host.Value}", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!app.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return Fail(403, "origin_not_allowed", "This origin is not one of the app's allowed origins.");
        }

        httpContext.Response.Headers.AccessControlAllowOrigin = origin;
        httpContext.Response.Headers.Vary = "Origin";
        return null;
    }

    internal static async Task<(DeviceBrowserRequest? Body, IResult? Problem)> ReadAsync(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
    {
        var subject = "device_browser_ip:" + (httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        var decision = await limiter.TryConsumeAsync(subject, [new RateLimitRule("device_browser_per_minute", flow.Options.BrowserRequestsPerIpPerMinute, TimeSpan.FromMinutes(1))], 1, httpContext.RequestAborted);
        if (!decision.Allowed)
        {
            var retryAfter = (int)Math.Ceiling(decision.RetryAfter(limiter.Now).TotalSeconds);
            httpContext.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(CultureInfo.InvariantCulture);
            return (null, Fail(429, "rate_limited", "Too many requests from this address; retry later."));
        }

        if (!(httpContext.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Fail(415, "unsupported_media_type", "Send application/json."));
        }

        if (httpContext.Request.ContentLength > MaxBodyBytes)
        {
            return (null, Fail(413, "payload_too_large", "The body is too large."));
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<DeviceBrowserRequest>(httpContext.Request.Body, Json, httpContext.RequestAborted);
            return body is null ? (null, Fail(400, "invalid_request", "A JSON object is required.")) : (body, null);
        }
        catch (JsonException)
        {
            return (null, Fail(400, "invalid_request", "The body is not the JSON this endpoint takes."));
        }
    }

    internal static IResult Fail(int status, string error, string message) => Results.Json(new DeviceBrowserError(error, message), Json, statusCode: status);

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
