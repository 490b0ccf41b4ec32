using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Gatehouse.Crypto;

/// <summary>
/// The one way to compare a secret, or anything computed under a secret key (a MAC, a keyed hash,
/// a signature), with a value someone presented. An early exit on the first differing byte would
/// tell a caller who times responses how much of a guess was right; these comparisons take the
/// same time wherever the values differ. Only the length can show, and the lengths compared here
/// are fixed by their formats.
/// </summary>
public static class SecretComparison
{
    /// <summary>Constant-time byte equality (UTF-8 text, digests, raw keys).</summary>
    public static bool AreEqual(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => CryptographicOperations.FixedTimeEquals(a, b);

    /// <summary>
    /// Constant-time ordinal equality of text (hex digests, signatures, keys). It compares the
    /// UTF-16 code units as bytes, so no encoding step runs whose speed depends on the content.
    /// </summary>
    public static bool AreEqual(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(a), MemoryMarshal.AsBytes(b));

    /// <summary>As the span overload; a missing value (a row without a seal, say) never equals anything.</summary>
    public static bool AreEqual(string? a, string? b) => a is not null && b is not null && AreEqual(a.AsSpan(), b.AsSpan());
}
