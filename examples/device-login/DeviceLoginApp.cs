using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.Client;
using Gatehouse.Client.AspNetCore;
using Gatehouse.Contracts.Devices;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;

namespace Gatehouse.Examples.DeviceLogin;

/// <summary>
/// A login that proves the user's device: the app asks Gatehouse for an auth URL, sends the browser
/// to the hosted page (served first-party under <c>/gatehouse</c> by the proxy), takes the one-time
/// token the page brings back to <c>/callback</c>, verifies it, and keeps the device-bound session.
/// The user name stands in for the app's own password check, which this example leaves out.
/// </summary>
public static class DeviceLoginApp
{
    public const string ProxyPrefix = "/gatehouse";
    private const string SessionCookie = "device_login";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var settings = builder.Configuration.GetSection("Gatehouse");
        var gatehouseUrl = settings["BaseUrl"] ?? "http://127.0.0.1:5080";
        builder.Services.AddGatehouseClient(o =>
        {
            o.BaseUrl = gatehouseUrl;
            o.ApiKey = settings["Key"];
        });
        builder.Services.AddGatehouseDeviceProxy();
        builder.Services.AddAntiforgery();
        builder.Services.AddSingleton<LoginStore>();

        var app = builder.Build();
        app.UseAntiforgery();
        app.MapGatehouseDeviceProxy(ProxyPrefix, new Uri(gatehouseUrl));
        var orgId = settings["OrgId"] ?? "";
        var appId = settings["AppId"] ?? "";

        app.MapGet("/", (HttpContext context, IAntiforgery antiforgery) =>
        {
            var token = antiforgery.GetAndStoreTokens(context);
            return Html("Sign in", $"""
                <form method="post" action="/login">
                  <input type="hidden" name="{token.FormFieldName}" value="{Encode(token.RequestToken)}">
                  <label for="user">User name</label>
                  <input id="user" name="user" autocomplete="username" required maxlength="64">
                  <button id="sign-in" type="submit">Sign in</button>
                </form>
                """);
        });

        app.MapPost("/login", async ([FromForm] string user, HttpContext context, GatehouseClient gatehouse, LoginStore logins) =>
        {
            var link = await gatehouse.Devices.GenerateAuthUrlAsync(new DeviceAuthUrlRequest
            {
                AppId = appId,
                UserId = user,
                SessionId = logins.NewId(),
                RedirectUrl = $"{context.Request.Scheme}://{context.Request.Host}/callback",
            });
            logins.Pending[link.RequestId] = user;
            // First party: the hosted page runs on this origin, through the proxy.
            return Results.Redirect($"{ProxyPrefix}/device/auth?request={Uri.EscapeDataString(link.RequestId)}");
        });

        app.MapGet("/callback", async (string? token, string? requestId, string? error, HttpContext context, GatehouseClient gatehouse, LoginStore logins) =>
        {
            if (requestId is null || !logins.Pending.TryRemove(requestId, out var user))
            {
                return Html("Sign-in failed", "<p id=\"outcome\" data-outcome=\"unknown-request\">Start again from the sign-in page.</p>", HttpStatusCode.BadRequest);
            }

            if (error is not null || token is null)
            {
                return Html("Device refused", $"<p id=\"outcome\" data-outcome=\"{Encode(error ?? "no-token")}\">This device may not sign in.</p>", HttpStatusCode.Forbidden);
            }

            DeviceAuthVerifyResponse verified;
            try
            {
                verified = await gatehouse.Devices.VerifyTokenAsync(new DeviceAuthVerifyRequest { Token = token, UserId = user });
            }
            catch (GatehouseApiException refused) when (refused.StatusCode == HttpStatusCode.Unauthorized)
            {
                return Html("Sign-in failed", "<p id=\"outcome\" data-outcome=\"token-refused\">The device could not be verified.</p>", HttpStatusCode.Unauthorized);
            }

            var sessionId = logins.NewId();
            logins.Sessions[sessionId] = new SignedIn(user, verified.DeviceId, verified.NewDevice, verified.Session.Id);
            context.Response.Cookies.Append(SessionCookie, sessionId, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = context.Request.IsHttps });
            return Results.Redirect("/account");
        });

        app.MapGet("/account", (HttpContext context, IAntiforgery antiforgery, LoginStore logins) =>
        {
            if (logins.Current(context) is not { } signedIn)
            {
                return Results.Redirect("/");
            }

            var token = antiforgery.GetAndStoreTokens(context);
            return Html("Account", $$"""
                <dl>
                  <dt>User</dt><dd id="user">{{Encode(signedIn.User)}}</dd>
                  <dt>Device</dt><dd id="device-id">{{Encode(signedIn.DeviceId)}}</dd>
                  <dt>New device</dt><dd id="new-device">{{(signedIn.NewDevice ? "yes" : "no")}}</dd>
                  <dt>Gatehouse session</dt><dd id="session-id">{{Encode(signedIn.DeviceSessionId)}}</dd>
                </dl>
                <button id="check" type="button">Check this device</button>
                <p id="check-result" aria-live="polite"></p>
                <form method="post" action="/logout">
                  <input type="hidden" name="{{token.FormFieldName}}" value="{{Encode(token.RequestToken)}}">
                  <button id="sign-out" type="submit">Sign out</button>
                </form>
                <script src="{{ProxyPrefix}}/device/agent.js"></script>
                <script>
                  // A sensitive action asks the device for a fresh proof; the backend validates it with Gatehouse.
                  document.getElementById('check').addEventListener('click', async () => {
                    const shown = document.getElementById('check-result');
                    let result;
                    try {
                      const proof = await GatehouseAgent.prove({ sessionId: '{{Encode(signedIn.DeviceSessionId)}}' });
                      const answer = await fetch('/account/validate', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(proof) });
                      result = await answer.json();
                    } catch (error) {
                      // No proof to be had (the session ended, the device was revoked): not valid either.
                      result = { valid: false, reason: error.code || error.message };
                    }
                    shown.dataset.valid = String(result.valid);
                    shown.textContent = result.valid ? 'This device is verified.' : 'Not valid: ' + result.reason;
                  });
                </script>
                """);
        });

        app.MapPost("/account/validate", async (SessionProof proof, HttpContext context, GatehouseClient gatehouse, LoginStore logins) =>
        {
            if (logins.Current(context) is not { } signedIn)
            {
                return Results.Unauthorized();
            }

            var answer = await gatehouse.Devices.ValidateSessionAsync(orgId, signedIn.DeviceSessionId, new ValidateDeviceSessionRequest { Proof = proof });
            return Results.Ok(new { valid = answer.Valid, reason = answer.Reason });
        }).DisableAntiforgery(); // JSON, same-origin fetch: a form post from another site cannot send it.

        app.MapPost("/logout", async (HttpContext context, GatehouseClient gatehouse, LoginStore logins) =>
        {
            if (context.Request.Cookies[SessionCookie] is { } id && logins.Sessions.TryRemove(id, out var signedIn))
            {
                await gatehouse.Devices.EndSessionAsync(orgId, signedIn.DeviceSessionId);
            }

            context.Response.Cookies.Delete(SessionCookie);
            return Results.Redirect("/");
        });

        return app;
    }

    private static string Encode(string? value) => WebUtility.HtmlEncode(value ?? "");

    private static IResult Html(string title, string body, HttpStatusCode status = HttpStatusCode.OK) =>
        Results.Content($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{Encode(title)} · Device login example</title></head>
            <body><main><h1>{Encode(title)}</h1>{body}</main></body></html>
            """, "text/html; charset=utf-8", statusCode: (int)status);
}

/// <summary>Who signed in, on which device, and the Gatehouse session bound to it.</summary>
public sealed record SignedIn(string User, string DeviceId, bool NewDevice, string DeviceSessionId);

/// <summary>The example keeps its state in memory; a real app uses its own session store.</summary>
public sealed class LoginStore
{
    /// <summary>Auth requests on their way through the hosted page, by request id.</summary>
    public ConcurrentDictionary<string, string> Pending { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, SignedIn> Sessions { get; } = new(StringComparer.Ordinal);

    public string NewId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public SignedIn? Current(HttpContext context) =>
        context.Request.Cookies["device_login"] is { } id && Sessions.TryGetValue(id, out var signedIn) ? signedIn : null;
}
