using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>The text of the files clients import: an OpenVPN profile with everything inline, or a WireGuard config.</summary>
public static class VpnConfigFiles
{
    /// <summary>
    /// An OpenVPN client profile: the gateway's <c>remote</c>, the server's certificate name checked
    /// (<c>verify-x509-name</c>) and its purpose (<c>remote-cert-tls server</c>), AEAD ciphers only, and
    /// the CA, client certificate and key (and tls-crypt key) inline, so one file is all a client needs.
    /// </summary>
    public static string OpenVpn(string hostname, int port, string protocol, string caPem, string certificatePem, string keyPem, string? tlsCryptKey)
    {
        var text = new StringBuilder();
        text.Append("# Gatehouse VPN profile: keep this file private, it holds your key.\n");
        text.Append("client\n");
        text.Append("dev tun\n");
        text.Append(CultureInfo.InvariantCulture, $"remote {hostname} {port} {protocol}\n");
        text.Append("resolv-retry infinite\n");
        text.Append("nobind\n");
        text.Append("persist-key\n");
        text.Append("persist-tun\n");
        text.Append("remote-cert-tls server\n");
        text.Append(CultureInfo.InvariantCulture, $"verify-x509-name {hostname} name\n");
        text.Append("tls-version-min 1.2\n");
        text.Append("data-ciphers AES-256-GCM:CHACHA20-POLY1305\n");
        text.Append("verb 3\n");
        Inline(text, "ca", caPem);
        Inline(text, "cert", certificatePem);
        Inline(text, "key", keyPem);
        if (tlsCryptKey is not null)
        {
            Inline(text, "tls-crypt", tlsCryptKey);
        }

        return text.ToString();
    }

    /// <summary>
    /// A WireGuard config (wg-quick format). Without <paramref name="privateKey"/> the client keeps
    /// its own and adds it: the line is a comment that says so.
    /// </summary>
    public static string WireGuard(string? privateKey, string address, string peerPublicKey, string endpointHost, int endpointPort, IEnumerable<string> allowedIps)
    {
        var text = new StringBuilder();
        text.Append("[Interface]\n");
        text.Append(privateKey is null ? "# PrivateKey = <the private key of the public key you sent; the server never had it>\n" : $"PrivateKey = {privateKey}\n");
        text.Append(CultureInfo.InvariantCulture, $"Address = {address}\n");
        text.Append('\n');
        text.Append("[Peer]\n");
        text.Append(CultureInfo.InvariantCulture, $"PublicKey = {peerPublicKey}\n");
        text.Append(CultureInfo.InvariantCulture, $"AllowedIPs = {string.Join(", ", allowedIps)}\n");
        var host = System.Net.IPAddress.TryParse(endpointHost, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpointHost}]" : endpointHost;
        text.Append(CultureInfo.InvariantCulture, $"Endpoint = {host}:{endpointPort}\n");
        text.Append("PersistentKeepalive = 25\n");
        return text.ToString();
    }

    /// <summary>A fresh X25519 key pair in WireGuard's base64 form.</summary>
    public static (string PrivateKey, string PublicKey) NewWireGuardKeyPair()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var privateBytes = key.Export(KeyBlobFormat.RawPrivateKey);
        try
        {
            return (Convert.ToBase64String(privateBytes), Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateBytes);
        }
    }

    /// <summary>A WireGuard key: 32 bytes in base64 (44 characters).</summary>
    public static bool IsWireGuardKey(string? text)
    {
        Span<byte> key = stackalloc byte[33];
        return text is { Length: 44 } && Convert.TryFromBase64String(text, key, out var written) && written == 32;
    }

    private static void Inline(StringBuilder text, string tag, string pem) =>
        text.Append('<').Append(tag).Append(">\n").Append(pem.Trim()).Append("\n</").Append(tag).Append(">\n");
}

/// <summary>Client addresses from a network's CIDR: the network address and the first host (the gateway) are never handed out, nor IPv4's broadcast.</summary>
public static class AddressPool
{
    /// <summary>Up to <paramref name="count"/> free addresses of <paramref name="cidr"/>, in order, skipping <paramref name="used"/>.</summary>
    public static List<System.Net.IPAddress> Free(string cidr, IReadOnlySet<string> used, int count)
    {
        var network = System.Net.IPNetwork.Parse(cidr);
        var baseBytes = network.BaseAddress.GetAddressBytes();
        var bits = baseBytes.Length * 8;
        var hostBits = bits - network.PrefixLength;
        var size = BigInteger.One << hostBits;
        var last = baseBytes.Length == 4 ? size - 2 : size - 1;
        var start = new BigInteger(baseBytes, isUnsigned: true, isBigEndian: true);
        var free = new List<System.Net.IPAddress>(count);
        for (var offset = new BigInteger(2); offset <= last && free.Count < count; offset++)
        {
            var address = ToAddress(start + offset, baseBytes.Length);
            if (!used.Contains(address.ToString()))
            {
                free.Add(address);
            }

            // A pool far larger than what is used: stop scanning once enough were seen.
            if (offset > used.Count + count + 2)
            {
                break;
            }
        }

        return free;
    }

    /// <summary>The address as a host route (<c>/32</c> or <c>/128</c>).</summary>
    public static string HostRoute(string address) => address + (address.Contains(':', StringComparison.Ordinal) ? "/128" : "/32");

    private static System.Net.IPAddress ToAddress(BigInteger value, int length)
    {
        var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        var padded = new byte[length];
        Array.Copy(bytes, 0, padded, length - bytes.Length, bytes.Length);
        return new System.Net.IPAddress(padded);
    }
}
