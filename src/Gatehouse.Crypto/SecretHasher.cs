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
    public const int PepperSize = 32;

    private readonly byte[] _pepper;

    public SecretHasher(ReadOnlySpan<byte> pepper)
    {
        if (pepper.Length < PepperSize)
        {
            throw new ArgumentException($"The pepper must be at least {PepperSize} bytes.", nameof(pepper));
        }

        _pepper = pepper.ToArray();
    }

    /// <summary>A new pepper: <see cref="PepperSize"/> bytes from the operating system's CSPRNG.</summary>
    public static byte[] NewPepper() => RandomNumberGenerator.GetBytes(PepperSize);

    /// <summary>Lower-case hex of HMAC-SHA-256(pepper, UTF-8 secret): 64 characters.</summary>
    public string Hash(ReadOnlySpan<char> secret) => Digest(secret).ToHex();

    /// <summary>HMAC-SHA-256(pepper, UTF-8 secret) as a value, for lookups.</summary>
    public SecretDigest Digest(ReadOnlySpan<char> secret)
    {
        Span<byte> digest = stackalloc byte[SecretDigest.Size];
        HashInto(secret, digest);
        return new SecretDigest(digest);
    }

    public void HashInto(ReadOnlySpan<char> secret, Span<byte> digest)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> buffer = maxBytes <= 512 ? stackalloc byte[512] : new byte[maxBytes];
        var written = Encoding.UTF8.GetBytes(secret, buffer);

        // A keyed HMAC per thread, reset after each use: the pepper's key schedule and the native
        // context are set up once per thread instead of on every hash (this runs twice per verify).
        var hmac = t_hmac;
        if (hmac is null || !ReferenceEquals(t_hmacOwner, this))
        {
            hmac?.Dispose();
            hmac = t_hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _pepper);
            t_hmacOwner = this;
        }

        hmac.AppendData(buffer[..written]);
        hmac.GetHashAndReset(digest);
        CryptographicOperations.ZeroMemory(buffer[..written]);
    }

    [ThreadStatic]
    private static IncrementalHash? t_hmac;

    [ThreadStatic]
    private static SecretHasher? t_hmacOwner;
}
