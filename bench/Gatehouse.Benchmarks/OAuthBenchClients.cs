using System.Buffers;
using System.Buffers.Text;
using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Crypto;

namespace Gatehouse.Benchmarks;

/// <summary>One OAuth client of the load test: the keyed hash of its secret and what a token of it carries.</summary>
public sealed record OAuthBenchClient(string ClientId, byte[] SecretDigest, string OrgId, string Scope);

/// <summary>
/// The client registry shared by the two OAuth comparison servers (the bare baseline and OpenIddict), so
/// both authenticate a client with exactly the same work: a frozen-dictionary lookup by id and a
/// constant-time comparison of the secret's keyed hash (as Gatehouse stores client secrets).
/// </summary>
public sealed class OAuthBenchClients
{
    /// <summary>The organization every benchmark client belongs to.</summary>
    public const string OrgId = "org_oauthbench";

    /// <summary>The scope every benchmark client holds (the one the Gatehouse run gives its clients).</summary>
    public const string Scope = "api_keys:read";

    private readonly SecretHasher _hasher = new(new byte[SecretHasher.PepperSize]);
    private readonly FrozenDictionary<string, OAuthBenchClient> _clients;

    private OAuthBenchClients(FrozenDictionary<string, OAuthBenchClient> clients) => _clients = clients;

    public int Count => _clients.Count;

    /// <summary>Reads a file of lines <c>clientId secret</c>.</summary>
    public static OAuthBenchClients Load(string path)
    {
        var registry = new OAuthBenchClients(FrozenDictionary<string, OAuthBenchClient>.Empty);
        var clients = File.ReadLines(path)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2)
            .Select(parts => new OAuthBenchClient(parts[0], registry.DigestOf(parts[1]), OrgId, Scope))
            .ToFrozenDictionary(client => client.ClientId, StringComparer.Ordinal);
        return new OAuthBenchClients(clients);
    }

    /// <summary>The client whose id and secret these are, or null (unknown id or wrong secret).</summary>
    public OAuthBenchClient? Authenticate(string? clientId, string? secret)
    {
        if (clientId is null || secret is null || !_clients.TryGetValue(clientId, out var client))
        {
            return null;
        }

        Span<byte> digest = stackalloc byte[SecretDigest.Size];
        _hasher.HashInto(secret, digest);
        return CryptographicOperations.FixedTimeEquals(digest, client.SecretDigest) ? client : null;
    }

    /// <summary>
    /// The client named by an <c>Authorization: Basic</c> header, whose two parts are form-urlencoded
    /// (RFC 6749 §2.3.1), or null.
    /// </summary>
    public OAuthBenchClient? AuthenticateBasic(string? authorization)
    {
        const string Scheme = "Basic ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var encoded = authorization.AsSpan(Scheme.Length).Trim();
        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(encoded.Length));
        try
        {
            if (!Convert.TryFromBase64Chars(encoded, rented, out var written))
            {
                return null;
            }

            var decoded = Encoding.UTF8.GetString(rented, 0, written);
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return null;
            }

            return Authenticate(FormDecode(decoded[..colon]), FormDecode(decoded[(colon + 1)..]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    private static string FormDecode(string value) =>
        value.AsSpan().IndexOfAny('%', '+') >= 0 ? WebUtility.UrlDecode(value) : value;

    private byte[] DigestOf(string secret)
    {
        var digest = new byte[SecretDigest.Size];
        _hasher.HashInto(secret, digest);
        return digest;
    }

    /// <summary>A fresh key id for a signing key: 16 random bytes, base64url.</summary>
    public static string NewKeyId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
}
