using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Gatehouse.Crypto;

/// <summary>
/// AES-256-GCM ciphertext in a self-describing, versioned layout.
/// The layout is stored in databases and must never change for format version 1:
/// <code>
/// [0]      format version (0x01)
/// [1..4]   key version, big-endian uint32
/// [5..16]  nonce (12 random bytes)
/// [17..32] tag (16 bytes)
/// [33..]   ciphertext (same length as plaintext)
/// </code>
/// The associated data is supplied by the caller (it binds the ciphertext to its row) and is
/// prefixed here with the header bytes, so a ciphertext moved to another key version fails too.
/// </summary>
public static class SealedBox
{
    public const byte FormatVersion1 = 1;
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int HeaderSize = 1 + 4;
    public const int Overhead = HeaderSize + NonceSize + TagSize;

    /// <summary>A new key (an organization's data key, say): <see cref="KeySize"/> bytes from the operating system's CSPRNG.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeySize);

    public static byte[] Seal(ReadOnlySpan<byte> key, uint keyVersion, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        RandomNumberGenerator.Fill(nonce);
        return Seal(key, keyVersion, nonce, plaintext, associatedData);
    }

    /// <summary>
    /// Seals under a given nonce. Only known-answer tests may choose the nonce: a nonce used twice
    /// under one key gives away the plaintexts' XOR and the authentication key.
    /// </summary>
    internal static byte[] Seal(ReadOnlySpan<byte> key, uint keyVersion, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        EnsureKey(key);
        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException($"AES-GCM here takes a {NonceSize}-byte nonce.", nameof(nonce));
        }

        var output = new byte[Overhead + plaintext.Length];
        output[0] = FormatVersion1;
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(1, 4), keyVersion);
        nonce.CopyTo(output.AsSpan(HeaderSize, NonceSize));
        var tag = output.AsSpan(HeaderSize + NonceSize, TagSize);
        var ciphertext = output.AsSpan(Overhead);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(output.AsSpan(HeaderSize, NonceSize), plaintext, ciphertext, tag, BuildAad(output.AsSpan(0, HeaderSize), associatedData));
        return output;
    }

    /// <summary>Reads the key version without decrypting, to pick the key.</summary>
    public static bool TryReadKeyVersion(ReadOnlySpan<byte> sealedBox, out uint keyVersion)
    {
        keyVersion = 0;
        if (sealedBox.Length < Overhead || sealedBox[0] != FormatVersion1)
        {
            return false;
        }

        keyVersion = BinaryPrimitives.ReadUInt32BigEndian(sealedBox.Slice(1, 4));
        return true;
    }

    /// <summary>Decrypts; throws <see cref="CryptographicException"/> for any tampering, wrong key or wrong associated data.</summary>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> sealedBox, ReadOnlySpan<byte> associatedData)
    {
        EnsureKey(key);
        if (!TryReadKeyVersion(sealedBox, out _))
        {
            throw new CryptographicException("Unknown ciphertext format.");
        }

        var nonce = sealedBox.Slice(HeaderSize, NonceSize);
        var tag = sealedBox.Slice(HeaderSize + NonceSize, TagSize);
        var ciphertext = sealedBox[Overhead..];
        var plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(nonce, ciphertext, tag, plaintext, BuildAad(sealedBox[..HeaderSize], associatedData));
        return plaintext;
    }

    private static byte[] BuildAad(ReadOnlySpan<byte> header, ReadOnlySpan<byte> associatedData)
    {
        var aad = new byte[header.Length + associatedData.Length];
        header.CopyTo(aad);
        associatedData.CopyTo(aad.AsSpan(header.Length));
        return aad;
    }

    private static void EnsureKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("AES-256-GCM needs a 32-byte key.", nameof(key));
        }
    }
}
