using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Gatehouse.Crypto;

/// <summary>
/// Stored content (format version 1): a stream cut into 64 KiB segments, each sealed with
/// AES-256-GCM under the file's own content key. The layout is stored in object storage and must
/// never change for format version 1:
/// <code>
/// object   = header ‖ segment₀ ‖ segment₁ ‖ … ‖ segmentₙ   (n ≥ 0; an empty file is one empty final segment)
/// header   = [0] format version 0x01, [1..4] plaintext segment size, big-endian uint32 (65536)
/// segmentᵢ = ciphertext (65536 bytes, fewer only in the final segment) ‖ tag (16 bytes)
/// nonceᵢ   = 7 zero bytes ‖ i as big-endian uint32 ‖ 0x01 for the final segment, else 0x00
/// AAD      = header ‖ AssociatedData.Of("gatehouse/content", orgId, containerId, fileId)
/// </code>
/// The counter in the nonce makes a reordered or repeated segment fail, the final flag makes a
/// stream cut at a segment boundary fail (its last segment was sealed as not final), and the
/// associated data makes an object moved to another file, container or organization fail. Nonces
/// are counters, not random, because every file has a fresh random key used for that file alone.
/// </summary>
public static class ContentSegments
{
    public const byte FormatVersion1 = 1;
    public const int SegmentSize = 64 * 1024;
    public const int HeaderSize = 1 + 4;
    public const int TagSize = 16;
    public const int KeySize = 32;
    private const int NonceSize = 12;

    /// <summary>A file's content key: <see cref="KeySize"/> bytes from the operating system's CSPRNG.</summary>
    public static byte[] NewContentKey() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>What every segment of a file is bound to.</summary>
    public static byte[] AssociatedDataFor(string orgId, string containerId, string fileId) => AssociatedData.Of("gatehouse/content", orgId, containerId, fileId);

    /// <summary>What a wrapped content key is bound to (sealed under the organization's data key).</summary>
    public static byte[] KeyAssociatedDataFor(string orgId, string containerId, string fileId) => AssociatedData.Of("gatehouse/content-key", orgId, containerId, fileId);

    /// <summary>The stored size of a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public static long StoredLength(long plaintextLength)
    {
        var segments = Math.Max(1, (plaintextLength + SegmentSize - 1) / SegmentSize);
        return HeaderSize + plaintextLength + segments * TagSize;
    }

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> to <paramref name="output"/> one segment at a time
    /// (two segment buffers in memory, whatever the size). Throws <see cref="ContentTooLargeException"/>
    /// as soon as more than <paramref name="maxPlaintextBytes"/> have been read.
    /// </summary>
    public static async Task<EncryptedContent> EncryptAsync(
        Stream plaintext, Stream output, byte[] contentKey, byte[] associatedData, long maxPlaintextBytes, CancellationToken cancellationToken)
    {
        EnsureKey(contentKey);
        var header = Header();
        var aad = Concat(header, associatedData);
        await output.WriteAsync(header, cancellationToken);

        var current = ArrayPool<byte>.Shared.Rent(SegmentSize);
        var next = ArrayPool<byte>.Shared.Rent(SegmentSize);
        var sealedSegment = ArrayPool<byte>.Shared.Rent(SegmentSize + TagSize);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var aes = new AesGcm(contentKey, TagSize);
        try
        {
            long total = 0;
            uint index = 0;
            var currentLength = await FillAsync(plaintext, current, SegmentSize, cancellationToken);
            while (true)
            {
                total += currentLength;
                if (total > maxPlaintextBytes)
                {
                    throw new ContentTooLargeException(maxPlaintextBytes);
                }

                var nextLength = currentLength == SegmentSize ? await FillAsync(plaintext, next, SegmentSize, cancellationToken) : 0;
                var final = nextLength == 0;
                sha256.AppendData(current, 0, currentLength);
                SealSegment(aes, index, final, current.AsSpan(0, currentLength), sealedSegment, aad);
                await output.WriteAsync(sealedSegment.AsMemory(0, currentLength + TagSize), cancellationToken);
                if (final)
                {
                    return new EncryptedContent(total, sha256.GetHashAndReset());
                }

                index = checked(index + 1);
                (current, next) = (next, current);
                currentLength = nextLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current, clearArray: true);
            ArrayPool<byte>.Shared.Return(next, clearArray: true);
            ArrayPool<byte>.Shared.Return(sealedSegment);
        }
    }

    /// <summary>
    /// Decrypts a stored object segment by segment, writing each segment's plaintext only after its
    /// tag verified; with a null <paramref name="output"/> it only verifies. Throws
    /// <see cref="CryptographicException"/> for a tampered, reordered, truncated or extended object,
    /// a wrong key or wrong associated data. Returns the plaintext length.
    /// </summary>
    public static async Task<long> DecryptAsync(Stream stored, Stream? output, byte[] contentKey, byte[] associatedData, CancellationToken cancellationToken)
    {
        EnsureKey(contentKey);
        var header = new byte[HeaderSize];
        if (await FillAsync(stored, header, HeaderSize, cancellationToken) != HeaderSize || header[0] != FormatVersion1
            || BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1)) != SegmentSize)
        {
            throw new CryptographicException("The stored object is not content format version 1.");
        }

        var aad = Concat(header, associatedData);
        const int sealedSize = SegmentSize + TagSize;
        var current = ArrayPool<byte>.Shared.Rent(sealedSize);
        var next = ArrayPool<byte>.Shared.Rent(sealedSize);
        var plain = ArrayPool<byte>.Shared.Rent(SegmentSize);
        using var aes = new AesGcm(contentKey, TagSize);
        try
        {
            long total = 0;
            uint index = 0;
            var currentLength = await FillAsync(stored, current, sealedSize, cancellationToken);
            while (true)
            {
                if (currentLength < TagSize)
                {
                    throw new CryptographicException("The stored object is truncated.");
                }

                var nextLength = currentLength == sealedSize ? await FillAsync(stored, next, sealedSize, cancellationToken) : 0;
                var final = nextLength == 0;
                var plainLength = currentLength - TagSize;
                OpenSegment(aes, index, final, current.AsSpan(0, currentLength), plain.AsSpan(0, plainLength), aad);
                if (output is not null)
                {
                    await output.WriteAsync(plain.AsMemory(0, plainLength), cancellationToken);
                }

                total += plainLength;
                if (final)
                {
                    return total;
                }

                index = checked(index + 1);
                (current, next) = (next, current);
                currentLength = nextLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
        }
    }

    internal static byte[] Header()
    {
        var header = new byte[HeaderSize];
        header[0] = FormatVersion1;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), SegmentSize);
        return header;
    }

    private static void SealSegment(AesGcm aes, uint index, bool final, ReadOnlySpan<byte> plaintext, byte[] output, byte[] aad)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        Nonce(nonce, index, final);
        aes.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length, TagSize), aad);
    }

    private static void OpenSegment(AesGcm aes, uint index, bool final, ReadOnlySpan<byte> sealedSegment, Span<byte> plaintext, byte[] aad)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        Nonce(nonce, index, final);
        var cipherLength = sealedSegment.Length - TagSize;
        aes.Decrypt(nonce, sealedSegment[..cipherLength], sealedSegment[cipherLength..], plaintext, aad);
    }

    private static void Nonce(Span<byte> nonce, uint index, bool final)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce.Slice(7, 4), index);
        nonce[11] = final ? (byte)1 : (byte)0;
    }

    /// <summary>Reads until <paramref name="count"/> bytes or the end of the stream; returns how many were read.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < count)
        {
            var read = await source.ReadAsync(buffer.AsMemory(filled, count - filled), cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private static byte[] Concat(byte[] header, byte[] associatedData)
    {
        var aad = new byte[header.Length + associatedData.Length];
        header.CopyTo(aad, 0);
        associatedData.CopyTo(aad, header.Length);
        return aad;
    }

    private static void EnsureKey(byte[] key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("Content is sealed with a 32-byte key.", nameof(key));
        }
    }
}

/// <summary>What an encryption wrote: the plaintext's length and SHA-256.</summary>
public sealed record EncryptedContent(long Length, byte[] Sha256);

/// <summary>The plaintext went past the allowed size; nothing of it should be kept.</summary>
public sealed class ContentTooLargeException(long maxBytes) : Exception($"The content is larger than {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}
