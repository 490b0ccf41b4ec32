using System.Net;
using Gatehouse.Server.Platform.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Primitives;
using IPNetwork = System.Net.IPNetwork;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Response headers every answer carries, set when the response starts (so an error response the
/// pipeline rewrote after clearing its headers carries them too):
/// <list type="bullet">
/// <item><c>X-Content-Type-Options: nosniff</c> and <c>X-Frame-Options: DENY</c> on every response;</item>
/// <item><c>Cache-Control: no-store</c> on every response outside <c>/docs</c>: API answers are never
/// cacheable, and several carry a secret shown once (key create and rotate, webhook create and
/// rotate-secret, credential reveal, and their idempotent replays);</item>
/// <item>a Content-Security-Policy: for <c>/docs</c> one that lets the bundled Swagger UI run from this
/// origin only (it has no inline script), for everything else <c>default-src 'none'</c>;</item>
/// <item><c>Strict-Transport-Security</c> when the request came over https (directly, or through a
/// trusted proxy that said so).</item>
/// </list>
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    public const string DocsContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public const string ApiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";

    /// <summary>The web console: its own stylesheet and script only, forms posting back to itself, no framing.</summary>
    public const string ConsoleContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    public const string StrictTransportSecurity = "max-age=31536000";

    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues Deny = "DENY";
    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues DocsPolicy = DocsContentSecurityPolicy;
    private static readonly StringValues ApiPolicy = ApiContentSecurityPolicy;
    private static readonly StringValues ConsolePolicy = ConsoleContentSecurityPolicy;
    private static readonly StringValues Hsts = StrictTransportSecurity;

    /// <summary>
    /// Set before the request goes on, as they depend only on the request: no handler sets these
    /// headers, and the one place that clears a response (ApiPipeline's error answer) sets them
    /// again. A response-start callback per request cost verify measurable throughput.
    /// </summary>
    public Task InvokeAsync(HttpContext context)
    {
        Apply(context);
        return next(context);
    }

    public static void Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = NoSniff;
        headers.XFrameOptions = Deny;
        if (context.Request.Path.StartsWithSegments("/docs", StringComparison.OrdinalIgnoreCase))
        {
            headers.ContentSecurityPolicy = DocsPolicy;
        }
        else
        {
            headers.CacheControl = NoStore;
            headers.ContentSecurityPolicy = context.Request.Path.StartsWithSegments("/console", StringComparison.OrdinalIgnoreCase) ? ConsolePolicy : ApiPolicy;
        }

        if (context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = Hsts;
        }
    }
}

/// <summary>
/// <c>Gatehouse:TrustedProxies</c> (<c>GATEHOUSE_TRUSTED_PROXIES</c>, comma-separated CIDR ranges or
/// addresses; default none): only a connection from one of them may name the client with
/// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c>, or with RFC 7239 <c>Forwarded</c> when
/// <c>Gatehouse:TrustedProxyHeader</c> is <c>Forwarded</c>. The address found this way is the client IP
/// of everything after: the per-IP rate limit, API-key IP allowlists and the audit trail.
/// </summary>
public static class TrustedProxies
{
    public const string Section = "Gatehouse:TrustedProxies";
    public const string HeaderSetting = "Gatehouse:TrustedProxyHeader";
    public const string XForwardedFor = "X-Forwarded-For";
    public const string Forwarded = "Forwarded";

    /// <summary>The configured ranges; a malformed one stops the server.</summary>
    public static IReadOnlyList<IPNetwork> Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var entries = section.Value is { } single
            ? single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value?.Trim()).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToArray();
        var networks = new List<IPNetwork>();
        foreach (var entry in entries)
        {
            if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else
            {
                throw new StartupException($"GATEHOUSE_TRUSTED_PROXIES: '{entry}' is not an IP address or CIDR range");
            }
        }

        return networks;
    }

    /// <summary>Adds the forwarded-header handling in front of everything that reads the client address; nothing when no proxy is trusted.</summary>
    public static void UseTrustedProxies(this WebApplication app)
    {
        var networks = Read(app.Configuration);
        if (networks.Count == 0)
        {
            return;
        }

        var header = app.Configuration[HeaderSetting] ?? XForwardedFor;
        var useForwarded = header.Equals(Forwarded, StringComparison.OrdinalIgnoreCase);
        if (!useForwarded && !header.Equals(XForwardedFor, StringComparison.OrdinalIgnoreCase))
        {
            throw new StartupException($"{HeaderSetting} must be {XForwardedFor} or {Forwarded}, not '{header}'");
        }

        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            // Walk back through the chain while each hop is a trusted proxy; stop at the first that is not.
            ForwardLimit = null,
        };
        // The defaults trust loopback: only what the operator lists is trusted.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var network in networks)
        {
            options.KnownIPNetworks.Add(network);
        }

        if (useForwarded)
        {
            // The framework reads only the X-Forwarded-* pair: the proxy's Forwarded header is turned
            // into it, and whatever X-Forwarded-* the client sent is dropped (the proxy did not vouch for it).
            app.Use(static (context, next) =>
            {
                RewriteForwarded(context.Request.Headers);
                return next(context);
            });
        }

        app.UseForwardedHeaders(options);
    }

    /// <summary>
    /// RFC 7239 <c>Forwarded: for=192.0.2.1;proto=https, for="[2001:db8::1]:4711"</c> into
    /// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>, element by element.
    /// </summary>
    public static void RewriteForwarded(IHeaderDictionary headers)
    {
        headers.Remove(XForwardedFor);
        headers.Remove("X-Forwarded-Proto");
        var forwarded = headers[Forwarded];
        if (forwarded.Count == 0)
        {
            return;
        }

        var fors = new List<string>();
        var protos = new List<string>();
        foreach (var value in forwarded)
        {
            foreach (var element in (value ?? "").Split(','))
            {
                string? forValue = null;
                string? protoValue = null;
                foreach (var pair in element.Split(';'))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        continue;
                    }

                    var name = pair[..equals].Trim();
                    var text = pair[(equals + 1)..].Trim().Trim('"');
                    if (name.Equals("for", StringComparison.OrdinalIgnoreCase))
                    {
                        forValue = text;
                    }
                    else if (name.Equals("proto", StringComparison.OrdinalIgnoreCase))
                    {
                        protoValue = text;
                    }
                }

                // An element without for= (or with "unknown" / an obfuscated name) names no address:
                // it stays in the list, so the chain stops there instead of skipping a hop.
                fors.Add(forValue ?? "unknown");
                protos.Add(protoValue ?? "");
            }
        }

        headers[XForwardedFor] = string.Join(", ", fors);
        if (protos.TrueForAll(p => p.Length > 0))
        {
            headers["X-Forwarded-Proto"] = string.Join(", ", protos);
        }
    }
}
