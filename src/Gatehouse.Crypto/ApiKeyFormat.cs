using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// The key format <c>{prefix}_{secret}</c>. The secret is base58 of 24 random bytes followed by a
/// 4-byte checksum (the first 4 bytes of SHA-256 over the ASCII prefix, an underscore and the
/// 24 random bytes). The checksum lets a mistyped or truncated key be rejected without a lookup,
/// and lets secret scanners tell a real key from noise. This layout must never change: keys
/// issued with it live in customers' systems.
/// </summary>
public static class ApiKeyFormat
{
    public const int RandomBytes = 24;
    public const int ChecksumBytes = 4;
    public const int MaxPrefixLength = 16;

    /// <summary>Characters of the secret kept in <c>start</c> (after the prefix and underscore).</summary>
    public const int StartSecretChars = 4;

    public static string Generate(string prefix)
    {
        Span<byte> random = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(random);
        return Compose(prefix, random);
    }

    /// <summary>Builds the key from given random bytes (known-answer tests use this).</summary>
    public static string Compose(string prefix, ReadOnlySpan<byte> random)
    {
        if (!IsValidPrefix(prefix))
        {
            throw new ArgumentException("A key prefix is 1–16 characters of [a-z0-9].", nameof(prefix));
        }

        if (random.Length != RandomBytes)
        {
            throw new ArgumentException($"A key needs exactly {RandomBytes} random bytes.", nameof(random));
        }

        Span<byte> payload = stackalloc byte[RandomBytes + ChecksumBytes];
        random.CopyTo(payload);
        Checksum(prefix, random, payload[RandomBytes..]);
        return prefix + "_" + Base58.Encode(payload);
    }

    /// <summary>True when the text has the shape and a correct checksum. Does no I/O.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> key)
    {
        var underscore = key.IndexOf('_');
        if (underscore < 1 || underscore > MaxPrefixLength || key.Length - underscore - 1 is < 30 or > 45)
        {
            return false;
        }

        var prefix = key[..underscore];
        foreach (var c in prefix)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9'))
            {
                return false;
            }
        }

        Span<byte> payload = stackalloc byte[RandomBytes + ChecksumBytes];
        if (!Base58.TryDecodeFixed(key[(underscore + 1)..], payload))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[ChecksumBytes];
        Checksum(prefix, payload[..RandomBytes], expected);
        // Not a secret comparison: the checksum is unkeyed SHA-256 of bytes the caller sent, so
        // anyone can compute it; an early exit tells them nothing they could not work out.
        return expected.SequenceEqual(payload[RandomBytes..]);
    }

    /// <summary>
    /// Prefixes that name platform credentials rather than an organization's keys: <c>gkr</c> (root
    /// keys) and <c>gks</c> (sessions). A key that looks like one could mislead a reader or a scanner.
    /// </summary>
    public static bool IsReservedPrefix(string? prefix) => prefix is "gkr" or "gks";

    public static bool IsValidPrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > MaxPrefixLength)
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (c is not (>= 'a' and <= 'z' or >= '0' and <= '9'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The stored, displayable beginning: prefix, underscore and the first 4 secret characters.</summary>
    public static string Start(string key)
    {
        var underscore = key.IndexOf('_', StringComparison.Ordinal);
        var length = underscore < 0 ? Math.Min(key.Length, 8) : Math.Min(key.Length, underscore + 1 + StartSecretChars);
        return key[..length];
    }

    private static void Checksum(ReadOnlySpan<char> prefix, ReadOnlySpan<byte> random, Span<byte> destination)
    {
        // ASCII prefix, '_', then the random bytes: built on the stack (the prefix is ≤ 16 chars).
        Span<byte> input = stackalloc byte[MaxPrefixLength + 1 + RandomBytes];
        var length = Encoding.ASCII.GetBytes(prefix, input);
        input[length++] = (byte)'_';
        random.CopyTo(input[length..]);
        length += random.Length;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input[..length], digest);
        digest[..ChecksumBytes].CopyTo(destination);
    }
}
