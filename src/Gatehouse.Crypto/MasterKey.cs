using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// The key-encryption key (KEK). It never encrypts data directly beyond small server secrets
/// (data keys, stored responses); purpose-specific subkeys are derived with HKDF so one use
/// cannot be confused with another.
/// </summary>
public sealed class MasterKey
{
    private readonly byte[] _key;

    private MasterKey(byte[] key) => _key = key;

    /// <summary>A short, non-secret identifier of the key: lower-case hex of 4 bytes of HKDF-SHA-256 with info <c>gatehouse/fingerprint</c> (8 characters).</summary>
    public string Fingerprint => Convert.ToHexStringLower(DeriveSubkey("gatehouse/fingerprint", 4));

    public static MasterKey Generate() => new(RandomNumberGenerator.GetBytes(SealedBox.KeySize));

    public static bool TryParse(string? base64, out MasterKey? masterKey, out string error)
    {
        masterKey = null;
        error = "";
        if (string.IsNullOrWhiteSpace(base64))
        {
            error = "the master key is empty";
            return false;
        }

        var buffer = new byte[64];
        if (!Convert.TryFromBase64String(base64.Trim(), buffer, out var written))
        {
            error = "the master key is not valid base64";
            return false;
        }

        if (written != SealedBox.KeySize)
        {
            error = $"the master key must decode to 32 bytes, not {written}";
            return false;
        }

        masterKey = new MasterKey(buffer[..written]);
        return true;
    }

    public string ToBase64() => Convert.ToBase64String(_key);

    public byte[] DeriveSubkey(string purpose, int length = 32) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, length, salt: [], info: Encoding.UTF8.GetBytes(purpose));

    /// <summary>Seals a small secret with a subkey derived for <paramref name="purpose"/>.</summary>
    public byte[] Seal(string purpose, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData) =>
        SealedBox.Seal(DeriveSubkey(purpose), 0, plaintext, associatedData);

    public byte[] Open(string purpose, ReadOnlySpan<byte> sealedBox, ReadOnlySpan<byte> associatedData) =>
        SealedBox.Open(DeriveSubkey(purpose), sealedBox, associatedData);

    /// <summary>Wraps a data key (AES-256-GCM under the KEK itself, bound to its identity).</summary>
    public byte[] Wrap(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> associatedData) =>
        SealedBox.Seal(_key, 0, dataKey, associatedData);

    public byte[] Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData) =>
        SealedBox.Open(_key, wrapped, associatedData);
}
