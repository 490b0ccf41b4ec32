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
/// prove endpoints. They answer plain JSON (<c>{error, message}</c> on failure), carry no
/// credential, are limited per client IP, and answer a cross-origin caller only when its origin is
/// one of the app's <c>allowedOrigins</c> (the page itself is same-origin).
/// </summary>
public static class DeviceBrowserEndpoints
{
    public const string AuthPagePath = "/device/auth";
    public const string AgentPath = "/device/agent.js";
    private const string PagePolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private const int MaxBodyBytes = 16 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
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
        foreach (var (path, name, summary) in new[]
        {
            ("/challenge", "DeviceChallenge", "A single-use nonce for an auth request ({request}) or a session proof ({sessionId})"),
            ("/register", "DeviceRegister", "First use: register the agent's public key, signed over the challenge; answers the redirect with the one-time token"),
            ("/prove", "DeviceProve", "A known device signs the challenge; answers the redirect with the one-time token"),
        })
        {
            browser.MapPost(path, path switch { "/challenge" => Challenge, "/register" => Register, _ => Prove }).WithName(name).WithSummary(summary)
                .Accepts<DeviceBrowserRequest>("application/json")
                .Produces(200, path == "/challenge" ? typeof(DeviceChallengeResponse) : typeof(DeviceBrowserResult))
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

            challenge = new DeviceChallenge
            {
                Hash = flow.Secrets.Hash(nonce),
                OrgId = app.OrgId,
                AppId = app.Id,
                RequestId = authRequest.Id,
                CreatedAt = now,
                ExpiresAt = authRequest.ExpiresAt < now.AddMinutes(5) ? authRequest.ExpiresAt : now.AddMinutes(5),
            };
            flow.Db.Add(challenge);
            await flow.Db.SaveChangesAsync(cancellationToken);
            return Results.Json(new DeviceChallengeResponse(nonce, app.Id, KeySlot(app.Id, authRequest.UserId), challenge.ExpiresAt), Json);
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

            challenge = new DeviceChallenge
            {
                Hash = flow.Secrets.Hash(nonce),
                OrgId = app.OrgId,
                AppId = app.Id,
                SessionId = session.Id,
                CreatedAt = now,
                ExpiresAt = now.AddSeconds(app.ProofMaxAgeSeconds),
            };
            flow.Db.Add(challenge);
            await flow.Db.SaveChangesAsync(cancellationToken);
            return Results.Json(new DeviceChallengeResponse(nonce, app.Id, KeySlot(app.Id, session.UserId), challenge.ExpiresAt), Json);
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

        if (await flow.Db.Owned<Device>(app!.OrgId).AnyAsync(d => d.AppId == app.Id && d.KeyThumbprint == thumbprint, cancellationToken))
        {
            return Fail(409, "already_registered", "This key is already registered; prove it instead.");
        }

        var device = DeviceOperations.NewDevice(flow, app, authRequest.UserId, DeviceName(httpContext), canonical, thumbprint);
        device.LastSeenAt = flow.Now;
        var redirect = Complete(flow, authRequest, device.Id, newDevice: true);
        await flow.Changes.CommitAsync(cancellationToken);
        flow.Metrics.CountRegistration();
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

        var device = body.DeviceId is { Length: <= 64 } deviceId
            ? await flow.Db.Owned<Device>(app!.OrgId).FirstOrDefaultAsync(d => d.Id == deviceId && d.AppId == app.Id, cancellationToken)
            : null;
        if (device is null || device.UserId != authRequest!.UserId)
        {
            return Fail(404, "unknown_device", "This device is not registered for the user; register it.");
        }

        if (device.RevokedAt is not null)
        {
            // The app hears of it on its redirect URL, without a token.
            flow.Changes.Record(DeviceActions.Failed, app!.OrgId, authRequest.Id, new { reason = "device_revoked", deviceId = device.Id });
            await flow.Changes.CommitAsync(cancellationToken);
            flow.Metrics.CountVerification(verified: false);
            var refusal = new DeviceBrowserError("device_revoked", "This device was revoked.", WithQuery(authRequest.RedirectUrl, ("error", "device_revoked"), ("requestId", authRequest.Id)));
            return Results.Json(refusal, Json, statusCode: 403);
        }

        bool signed;
        using (var key = DeviceKeys.Load(device.PublicKeyJwk))
        {
            signed = body.Nonce is not null && DeviceKeys.Verify(key, DeviceKeys.AuthMessage(authRequest.Id, body.Nonce), body.Signature);
        }

        if (!signed)
        {
            return Fail(401, "invalid_signature", "The signature does not match the device's key.");
        }

        if (!await ConsumeAsync(flow, authRequest.OrgId, body.Nonce!, authRequest.Id, cancellationToken))
        {
            return Fail(400, "invalid_challenge", "The challenge is unknown, used or expired; ask for a new one.");
        }

        device.LastSeenAt = flow.Now;
        var redirect = Complete(flow, authRequest, device.Id, newDevice: false);
        await flow.Changes.CommitAsync(cancellationToken);
        return Results.Json(new DeviceBrowserResult(device.Id, false, redirect), Json);
    }

    /// <summary>Issues the one-time token on the request and returns the redirect that carries it.</summary>
    private static string Complete(DeviceFlow flow, DeviceAuthRequest authRequest, string deviceId, bool newDevice)
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
    private static string KeySlot(string appId, string userId) => DeviceKeys.Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(appId + "\n" + userId)))[..22];

    private static string? DeviceName(HttpContext httpContext)
    {
        var agent = httpContext.Request.Headers.UserAgent.ToString();
        return agent.Length == 0 ? null : agent[..Math.Min(agent.Length, 100)];
    }

    private static async Task<bool> ConsumeAsync(DeviceFlow flow, string orgId, string nonce, string requestId, CancellationToken cancellationToken)
    {
        var hash = flow.Secrets.Hash(nonce);
        var now = flow.Now;
        return await flow.Db.Owned<DeviceChallenge>(orgId).Where(c => c.Hash == hash && c.RequestId == requestId && c.UsedAt == null && c.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.UsedAt, now), cancellationToken) == 1;
    }

    private static async Task<(DeviceAuthRequest? Request, DeviceApp? App, IResult? Problem)> RequestOfAsync(
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

    private static async Task<DeviceAuthRequest?> PendingRequestAsync(DeviceFlow flow, string requestId, CancellationToken cancellationToken)
    {
        if (requestId.Length > 64)
        {
            return null;
        }

        var now = flow.Now;
        var authRequest = await flow.Db.Set<DeviceAuthRequest>().FirstOrDefaultAsync(r => r.Id == requestId, cancellationToken);
        return authRequest is { CompletedAt: null } && authRequest.ExpiresAt > now ? authRequest : null;
    }

    private static Task<DeviceApp?> AppAsync(DeviceFlow flow, string orgId, string appId, CancellationToken cancellationToken) =>
        flow.Db.Owned<DeviceApp>(orgId).FirstOrDefaultAsync(a => a.Id == appId, cancellationToken);

    /// <summary>Same origin, no Origin (not a browser), or one of the app's allowed origins (then answered with CORS headers).</summary>
    private static IResult? OriginRefused(HttpContext httpContext, DeviceApp app)
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

    private static async Task<(DeviceBrowserRequest? Body, IResult? Problem)> ReadAsync(HttpContext httpContext, DeviceFlow flow, RateLimiter limiter)
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

    private static IResult Fail(int status, string error, string message) => Results.Json(new DeviceBrowserError(error, message), Json, statusCode: status);

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
