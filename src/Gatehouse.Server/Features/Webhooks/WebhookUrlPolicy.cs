using System.Net;
using System.Net.Sockets;
using Gatehouse.Server.Platform.Hosting;

namespace Gatehouse.Server.Features.Webhooks;

/// <summary>
/// Keeps webhook delivery from becoming a way into the server's own network (SSRF): URLs must be
/// <c>https</c> and every address their host resolves to must be public. Checked at registration
/// and again at connect time, on the address actually dialled (so DNS rebinding cannot slip past).
/// <see cref="GatehouseOptions.WebhooksAllowInsecure"/> lifts both rules for development and tests.
/// </summary>
public sealed class WebhookUrlPolicy(GatehouseOptions options)
{
    public const int MaxUrlLength = 2048;
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    public bool AllowInsecure => options.WebhooksAllowInsecure;

    /// <summary>Null when the URL may be registered; otherwise the reason. Resolves the host, never connects.</summary>
    public async Task<string?> CheckAsync(string url, CancellationToken cancellationToken)
    {
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL of at most 2048 characters";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(AllowInsecure && uri.Scheme == Uri.UriSchemeHttp))
        {
            return AllowInsecure ? "must be an http or https URL" : "must be an https URL";
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
            : addresses.Any(IsForbidden) ? "must not point at a loopback, link-local, private or metadata address" : null;
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

    /// <summary>Loopback, link-local (cloud metadata), private, shared, multicast, reserved and unspecified ranges.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return true;
        }

        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return b[0] switch
            {
                0 or 10 or 127 => true,
                100 => b[1] is >= 64 and <= 127,          // 100.64/10 carrier-grade NAT
                169 => b[1] == 254,                        // link-local, 169.254.169.254 metadata
                172 => b[1] is >= 16 and <= 31,
                192 => (b[1] == 168) || (b[1] == 0 && b[2] is 0 or 2) || (b[1] == 88 && b[2] == 99),
                198 => b[1] is 18 or 19 || (b[1] == 51 && b[2] == 100),
                203 => b[1] == 0 && b[2] == 113,
                >= 224 => true,                            // multicast and reserved
                _ => false,
            };
        }

        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
            || (b[0] & 0xfe) == 0xfc                       // fc00::/7 unique local (fd00:ec2::254 metadata)
            || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) // 2001:db8::/32 documentation
            || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) // 64:ff9b::/96 NAT64 can reach private IPv4
            || (b[0] == 0x20 && b[1] == 0x02);             // 2002::/16 6to4 embeds an IPv4 address
    }
}

/// <summary>A delivery target that resolves to an address the policy forbids.</summary>
public sealed class WebhookTargetForbiddenException(string message) : Exception(message);
