using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// Keyed hashes of a tamper-evident chain (the audit trail): HMAC-SHA-256 under subkeys derived
/// with HKDF-SHA-256 from one 32-byte secret, one subkey per use, so an event hash can never be
/// passed off as a head seal or the other way round. Without the secret nobody can compute either,
/// so rows edited in the database cannot be given matching hashes.
/// </summary>
public sealed class ChainMac
{
    public const int SecretSize = 32;
    private readonly byte[] _eventKey;
    private readonly byte[] _headKey;

    public ChainMac(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < SecretSize)
        {
            throw new ArgumentException($"The chain secret must be at least {SecretSize} bytes.", nameof(secret));
        }

        _eventKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, salt: [], info: "gatehouse/audit-event"u8.ToArray());
        _headKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, salt: [], info: "gatehouse/audit-head"u8.ToArray());
    }

    /// <summary>Lower-case hex HMAC-SHA-256 of an event's canonical UTF-8 text (64 characters).</summary>
    public string EventHash(string canonical) => Convert.ToHexStringLower(HMACSHA256.HashData(_eventKey, Encoding.UTF8.GetBytes(canonical)));

    /// <summary>Lower-case hex HMAC-SHA-256 of the head's fields, length-prefixed as <see cref="AssociatedData.Of"/>.</summary>
    public string HeadSeal(params string[] fields) => Convert.ToHexStringLower(HMACSHA256.HashData(_headKey, AssociatedData.Of(fields)));

    /// <summary>A new chain secret: <see cref="SecretSize"/> bytes from the operating system's CSPRNG.</summary>
    public static byte[] NewSecret() => RandomNumberGenerator.GetBytes(SecretSize);
}
