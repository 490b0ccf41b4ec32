using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// Hashes high-entropy secrets (API keys, client secrets) for storage and lookup.
/// HMAC-SHA-256 with a server pepper: a stolen database alone cannot be used to test guesses.
/// Secrets are ≥ 128 random bits, so a slow password hash would only cost latency.
/// </summary>
public sealed class SecretHasher
{
    private readonly byte[] _pepper;

    public SecretHasher(ReadOnlySpan<byte> pepper)
    {
        if (pepper.Length < 32)
        {
            throw new ArgumentException("The pepper must be at least 32 bytes.", nameof(pepper));
        }

        _pepper = pepper.ToArray();
    }

    /// <summary>Lower-case hex of HMAC-SHA-256(pepper, UTF-8 secret): 64 characters.</summary>
    public string Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> digest = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HashInto(secret, digest);
        return Convert.ToHexStringLower(digest);
    }

    public void HashInto(ReadOnlySpan<char> secret, Span<byte> digest)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> buffer = maxBytes <= 512 ? stackalloc byte[512] : new byte[maxBytes];
        var written = Encoding.UTF8.GetBytes(secret, buffer);
        HMACSHA256.HashData(_pepper, buffer[..written], digest);
        CryptographicOperations.ZeroMemory(buffer[..written]);
    }

    /// <summary>Constant-time comparison of two stored hashes.</summary>
    public static bool HashesEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
