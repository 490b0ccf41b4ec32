using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// Keeps webhook delivery from becoming a way into the server's own network (SSRF): URLs must be
/// <c>https</c> and every address their host resolves to must be public. Checked at registration
/// and again at connect time, on the address actually dialled (so DNS rebinding cannot slip past).
/// <see cref="WebhookOptions.AllowInsecure"/> lifts both rules for development and tests.
/// </summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public sealed class WebhookUrlPolicy(WebhookOptions options)
{
    public const int MaxUrlLength = 2048;

    /// <summary>How to lift the rule, named in every refusal: a local trial needs exactly this and should not have to read code to find it.</summary>
    private const string InsecureHint = " (for local development, GATEHOUSE_WEBHOOKS_ALLOW_INSECURE=true allows http:// and loopback or private targets)";
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    public bool AllowInsecure => options.AllowInsecure;

    /// <summary>A handler for outbound calls to URLs this policy checked: no redirects, no proxy, forbidden addresses refused at connect time.</summary>
    public SocketsHttpHandler CreateHandler() => WebhooksFeature.CreateHandler(this);

    /// <summary>Null when the URL may be registered; otherwise the reason. Resolves the host, never connects.</summary>
    public async Task<string?> CheckAsync(string url, CancellationToken cancellationToken)
    {
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL of at most 2048 characters";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(AllowInsecure && uri.Scheme == Uri.UriSchemeHttp))
        {
            return AllowInsecure ? "must be an http or https URL" : "must be an https URL" + InsecureHint;
        }

        if (uri.UserInfo.Length > 0)
        {
            return "must not contain credentials";
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            return "must not contain a fragment";
        }

        if (AllowInsecure)
        {
            return null;
        }

        IPAddress[] addresses;
        try
        {
            addresses = await ResolveAsync(uri.IdnHost, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ArgumentException && !cancellationToken.IsCancellationRequested)
        {
            return "must have a host name that resolves";
        }

        return addresses.Length == 0 ? "must have a host name that resolves"
            : addresses.Any(IsForbidden) ? "must not point at a loopback, link-local, private or metadata address" + InsecureHint : null;
    }

    /// <summary>The addresses a delivery may connect to; throws when the host resolves to a forbidden one.</summary>
    public async Task<IPAddress[]> ResolveForDeliveryAsync(string host, CancellationToken cancellationToken)
    {
        var addresses = await ResolveAsync(host, cancellationToken);
        if (!AllowInsecure && addresses.Any(IsForbidden))
        {
            throw new WebhookTargetForbiddenException($"The webhook host resolves to a forbidden address.");
        }

        return addresses;
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return [literal];
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ResolveTimeout);
        return await Dns.GetHostAddressesAsync(host, timeout.Token);
    }

    /// <summary>
    /// The URL for the audit trail: scheme, host and port, the path segments that read as plain
    /// words (<c>hooks</c>, <c>services</c>, <c>v1</c>) and <c>***</c> for every other segment and
    /// for the whole query. Receivers put their tokens in the path (<c>/services/T0/B0/secret</c>)
    /// or the query, and anything with digits, capitals or length is treated as one.
    /// </summary>
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "";
        }

        var text = new System.Text.StringBuilder(Origin(uri));
        foreach (var segment in uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            text.Append('/').Append(IsPlainWord(segment) ? segment : "***");
        }

        if (uri.AbsolutePath.EndsWith('/'))
        {
            text.Append('/');
        }

        if (uri.Query.Length > 1)
        {
            text.Append("?***");
        }

        return text.ToString();
    }

    /// <summary>The URL for log lines: scheme and host only (and the port when it is not the default).</summary>
    public static string ForLog(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Origin(uri) : "(invalid URL)";

    private static string Origin(Uri uri) => uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);

    private static readonly System.Buffers.SearchValues<char> WordCharacters = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz-_.");

    private static bool IsPlainWord(string segment)
    {
        if (segment.Length is 0 or > 20)
        {
            return false;
        }

        // v1, v2…: a version is not a token.
        if (segment.Length is 2 or 3 && segment[0] == 'v' && !segment.AsSpan(1).ContainsAnyExceptInRange('0', '9'))
        {
            return true;
        }

        return char.IsAsciiLetterLower(segment[0]) && !segment.AsSpan().ContainsAnyExcept(WordCharacters);
    }

    /// <summary>
    /// True unless the address is one a delivery may dial: a public IPv4 address or an IPv6 global
    /// unicast one (2000::/3 minus its special-purpose ranges). IPv6 forms that carry an IPv4
    /// address (mapped, compatible, SIIT, NAT64, 6to4, Teredo) are judged by the IPv4 address
    /// inside, since that is where the packets end up.
    /// </summary>
    public static bool IsForbidden(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork ? IsForbiddenV4(address.GetAddressBytes())
        : address.AddressFamily != AddressFamily.InterNetworkV6 || IsForbiddenV6(address.GetAddressBytes());

    private static bool IsForbiddenV4(ReadOnlySpan<byte> b) => b[0] switch
    {
        0 or 10 or 127 => true,                       // "this network", private, loopback
        100 => b[1] is >= 64 and <= 127,              // 100.64/10 carrier-grade NAT
        169 => b[1] == 254,                           // link-local, 169.254.169.254 metadata
        172 => b[1] is >= 16 and <= 31,               // private
        192 => b[1] == 168                            // private
            || (b[1] == 0 && b[2] is 0 or 2)          // IETF protocol assignments, documentation
            || (b[1] == 88 && b[2] == 99),            // deprecated 6to4 relay anycast
        198 => b[1] is 18 or 19                       // benchmarking
            || (b[1] == 51 && b[2] == 100),           // documentation
        203 => b[1] == 0 && b[2] == 113,              // documentation
        >= 224 => true,                               // multicast, reserved, broadcast
        _ => false,
    };

    private static bool IsForbiddenV6(ReadOnlySpan<byte> b)
    {
        // Forms outside 2000::/3 that embed an IPv4 address in their last 32 bits.
        if (IsZero(b[..10]))
        {
            if (b[10] == 0xff && b[11] == 0xff)
            {
                return IsForbiddenV4(b[12..]);        // ::ffff:a.b.c.d IPv4-mapped
            }

            if (b[10] == 0 && b[11] == 0)
            {
                // ::a.b.c.d IPv4-compatible (deprecated); :: and ::1 fall in 0/8 and so are refused.
                return IsForbiddenV4(b[12..]);
            }
        }

        if (IsZero(b[..8]) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
        {
            return IsForbiddenV4(b[12..]);            // ::ffff:0:a.b.c.d SIIT
        }

        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b)
        {
            // 64:ff9b::/96 well-known NAT64 prefix: judged by the IPv4 address it translates to.
            // 64:ff9b:1::/48 is for local use, with an operator-chosen layout: always refused.
            return !IsZero(b[4..12]) || IsForbiddenV4(b[12..]);
        }

        if ((b[0] & 0xe0) != 0x20)
        {
            return true;                              // outside 2000::/3: loopback, ULA, link-local, multicast, discard 100::/64…
        }

        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return IsForbiddenV4(b[2..6]);            // 2002::/16 6to4: the IPv4 address of the relay site
        }

        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            // 2001::/32 Teredo: the server's IPv4 address, then the client's, stored inverted.
            Span<byte> client = [(byte)~b[12], (byte)~b[13], (byte)~b[14], (byte)~b[15]];
            return IsForbiddenV4(b[4..8]) || IsForbiddenV4(client);
        }

        return (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)                          // 2001::/23 IETF protocol assignments
            || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)       // 2001:db8::/32 documentation
            || (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0);                 // 3fff::/20 documentation
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes) => !bytes.ContainsAnyExcept((byte)0);
}

/// <summary>A delivery target that resolves to an address the policy forbids.</summary>
public sealed class WebhookTargetForbiddenException(string message) : Exception(message);
