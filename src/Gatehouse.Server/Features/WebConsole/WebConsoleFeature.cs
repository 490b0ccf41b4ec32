using System.Text;
using System.Text.Json;
using Gatehouse.Server.Features.WebConsole.Components;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Microsoft.AspNetCore.Antiforgery;

namespace Gatehouse.Server.Features.WebConsole;

/// <summary>Settings of section <c>Gatehouse:WebConsole</c>.</summary>
public sealed class WebConsoleOptions
{
    /// <summary>
    /// Where the console reaches this server's API (it calls the API like any client). Empty: the
    /// first address the server listens on, a wildcard host taken as loopback. Set it when the server
    /// listens only on HTTPS with a certificate for another name, or on a Unix socket.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Url]
    public string? ApiBaseUrl { get; set; }
}

/// <summary>
/// The web console at <c>/console</c>: server-rendered Razor components (static SSR, no scripts
/// needed but one for the copy button), on the session login of the Users feature, talking to the
/// API with the user's session token (docs/console.md, decision 0025).
/// </summary>
public sealed class WebConsoleFeature : Feature
{
    public const string BasePath = "/console";

    public override string Name => "WebConsole";

    public override void AddServices(FeatureServices services)
    {
        services.Options<WebConsoleOptions>(Name);
        services.Services.AddSingleton<ConsoleTransport>();
        services.Services.AddRazorComponents();
        // Secure whenever the request is HTTPS: "Always" would make the antiforgery system refuse
        // plain-HTTP loopback development, and a __Host- name would then be dropped by browsers.
        services.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "gatehouse_console_af";
            o.Cookie.Path = "/console";
            o.FormFieldName = "__console_af";
        });
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var root = routes.Root;
        root.MapRazorComponents<ConsoleApp>().ExcludeFromDescription();
        root.MapGet(BasePath + "/assets/console.css", () => ConsoleAssets.Css).ExcludeFromDescription();
        root.MapGet(BasePath + "/assets/console.js", () => ConsoleAssets.Script).ExcludeFromDescription();
        root.MapPost(BasePath + "/logout", Logout).ExcludeFromDescription();
        root.MapGet(BasePath + "/audit/export", ExportAudit).ExcludeFromDescription();
    }

    /// <summary>Ends the session through the API, then drops the cookie; a form post with a valid antiforgery token only.</summary>
    private static async Task<IResult> Logout(HttpContext httpContext, IAntiforgery antiforgery, ConsoleTransport transport, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(httpContext))
        {
            return Results.BadRequest("A valid antiforgery token is required.");
        }

        if (ConsoleSessionCookie.Read(httpContext) is { } token)
        {
            try
            {
                await transport.For(token).PostAsync<JsonElement>("auth/logout", new { }, cancellationToken);
            }
            catch (ConsoleApiException ex) when (ex.SessionEnded)
            {
                // Already over: nothing to end.
            }
        }

        ConsoleSessionCookie.Clear(httpContext);
        return Results.Redirect(BasePath + "/login?loggedOut=1");
    }

    /// <summary>The organization's audit events as NDJSON, paged through the API's list route with the user's own permission.</summary>
    private static async Task ExportAudit(HttpContext httpContext, ConsoleTransport transport, string org, string? action, CancellationToken cancellationToken)
    {
        if (ConsoleSessionCookie.Read(httpContext) is not { } token)
        {
            httpContext.Response.Redirect(BasePath + "/login?expired=1");
            return;
        }

        var api = transport.For(token);
        var filter = string.IsNullOrWhiteSpace(action) ? "" : "&action=" + Uri.EscapeDataString(action);
        var basePath = $"orgs/{Uri.EscapeDataString(org)}/audit-logs?limit=200{filter}";
        ConsolePage<JsonElement> page;
        try
        {
            page = await api.ListAsync<JsonElement>(basePath + "&offset=0", cancellationToken);
        }
        catch (ConsoleApiException ex)
        {
            httpContext.Response.StatusCode = ex.Status;
            await httpContext.Response.WriteAsync(ex.Message, cancellationToken);
            return;
        }

        httpContext.Response.ContentType = "application/x-ndjson";
        httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"audit-{org}.ndjson\"";
        var offset = 0;
        while (true)
        {
            foreach (var item in page.Items)
            {
                await httpContext.Response.WriteAsync(item.GetRawText() + "\n", Encoding.UTF8, cancellationToken);
            }

            offset += page.Items.Count;
            if (page.Pagination is not { HasMore: true } || page.Items.Count == 0)
            {
                break;
            }

            page = await api.ListAsync<JsonElement>($"{basePath}&offset={offset}", cancellationToken);
        }
    }
}

/// <summary>The session cookie the Users feature sets at login (<see cref="Authentication.SessionCookieName"/>).</summary>
internal static class ConsoleSessionCookie
{
    public static string? Read(HttpContext httpContext) =>
        httpContext.Request.Cookies.TryGetValue(Authentication.SessionCookieName, out var token) && token.Length > 0 ? token : null;

    /// <summary>A <c>__Host-</c> cookie is only replaced (here: expired) by a Secure one with Path=/.</summary>
    public static void Clear(HttpContext httpContext) =>
        httpContext.Response.Cookies.Delete(Authentication.SessionCookieName, new CookieOptions { Path = "/", Secure = true, HttpOnly = true, SameSite = SameSiteMode.Lax });
}
